import * as pulumi from "@pulumi/pulumi";
import { parseStackConfig } from "../../../components/config/load";
import { StackConfig } from "../../../components/config/schema";
import { Environment } from "../../../components/environment";
import {
  databaseNotPublic,
  holdsData,
  isSingleHost,
  isWholeInternet,
  prodDataProtected,
  ResourceView,
  securityGroupDefaultDrop,
  tlsOnPublicHosts,
  TYPES,
  UNKNOWN,
} from "../../../policy/rules";
import { EXPECTED } from "../../support/expected";
import { countByType, Declared, installMocks, parse, recorder, urnOf, valueOf } from "../../support/mocks";
import { SERVERLESS_SECRETS, SERVERLESS_STACK, serverlessConfigInput } from "../../support/serverlessStack";
import { stackConfig } from "../../support/stackFiles";

type Mutable = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

beforeAll(() => installMocks());

/** URNs of the resources whose outputs `value` is computed from (what the engine sends as property dependencies). */
function dependencyUrns(stack: string, value: unknown): string[] {
  if (pulumi.Output.isInstance(value)) {
    // Test-only reading of SDK internals: the same sets the SDK sends to the engine.
    const sources = (value as unknown as { resources(): Set<{ __pulumiType: string; __name: string }> }).resources();
    return [...sources].map((r) => urnOf(stack, r.__pulumiType, r.__name));
  }
  if (typeof value === "object" && value !== null) return Object.values(value).flatMap((v) => dependencyUrns(stack, v));
  return [];
}

/**
 * The resources the program declares for a stack file's configuration (Pulumi.<file>.yaml,
 * `change` applied to its structured values), as the policy pack sees them: resolved inputs,
 * protect, property dependencies.
 */
async function declaredViews(file: string, stack = file, change: (config: Mutable) => void = () => undefined): Promise<ResourceView[]> {
  const { structured, secretKeys } = stackConfig(file);
  const values: Mutable = Object.fromEntries(Object.entries(structured).map(([key, value]) => [key.replace(/^permacoop:/, ""), structuredClone(value)]));
  change(values);
  const raw = Object.fromEntries(
    Object.entries(values).map(([key, value]) => [
      key.includes(":") ? key : `permacoop:${key}`,
      secretKeys.includes(`permacoop:${key}`) ? `dummy-${key}` : typeof value === "string" ? value : JSON.stringify(value),
    ]),
  );
  const { config, secretValues } = parseStackConfig(stack, raw, new Set(secretKeys));
  return viewsOf(stack, config, secretValues);
}

/** The custom resources an Environment declares, as the policy pack sees them. */
async function viewsOf(stack: string, config: StackConfig, secretValues: Record<string, string>): Promise<ResourceView[]> {
  const secrets = Object.fromEntries(Object.entries(secretValues).map(([key, value]) => [key, pulumi.secret(value)]));
  const declared: Declared[] = [];
  new Environment(stack, { name: stack, config, secrets }, { transformations: [recorder(declared)] });
  // Resolving every input lets declarations made once an output is known happen too.
  for (let seen = -1; seen !== declared.length;) {
    seen = declared.length;
    await valueOf(pulumi.output(declared.map((d) => d.props)));
  }
  const custom = declared.filter((d) => !d.type.startsWith("permacoop:") && !d.type.startsWith("pulumi:"));
  return Promise.all(
    custom.map(async (d) => ({
      type: d.type,
      name: d.name,
      urn: urnOf(stack, d.type, d.name),
      props: (await valueOf(pulumi.output(d.props))) as Record<string, unknown>,
      protect: d.opts.protect === true,
      propertyDependencies: Object.fromEntries(Object.entries(d.props).map(([key, value]) => [key, dependencyUrns(stack, value)])),
    })),
  );
}

const only = (views: readonly ResourceView[], type: string) => {
  const found = views.filter((v) => v.type === type);
  expect(found).toHaveLength(1);
  return found[0]!;
};
const isSet = (value: unknown) => value !== undefined && value !== null;
const withProps = (view: ResourceView, props: Record<string, unknown>): ResourceView => ({ ...view, props: { ...view.props, ...props } });
const resourceRules = (views: readonly ResourceView[]) => views.flatMap((v) => [...prodDataProtected(v), ...securityGroupDefaultDrop(v)]);
const stackRules = (views: readonly ResourceView[]) => [...databaseNotPublic(views), ...tlsOnPublicHosts(views)];

describe("the policy pack on what the program declares", () => {
  it("passes the prod stack file, whose resources are the ones the rules look at", async () => {
    const views = await declaredViews("prod");
    expect(resourceRules(views)).toEqual([]);
    expect(stackRules(views)).toEqual([]);
    // Not vacuous: every resource the stack declares, among them the protected instance, its linked /32 ACL,
    // the default-drop group and the certificate.
    expect(countByType(views)).toEqual(EXPECTED.prod);
    const instance = only(views, TYPES.dbInstance);
    expect(instance.protect).toBe(true);
    const acl = only(views, TYPES.dbAcl);
    expect(acl.propertyDependencies.instanceId).toEqual([instance.urn]);
    expect(acl.props.aclRules).toEqual([{ ip: "203.0.113.10/32", description: "prod host only" }]);
    expect(only(views, TYPES.securityGroup).props.inboundDefaultPolicy).toBe("drop");
    expect(views.map((v) => v.name)).toContain("prod-runtime-certificate");
  });

  it("passes the scaleway-container sample: database on the private network only, containers HTTPS only", async () => {
    const savedKey = process.env.SCW_SECRET_KEY;
    process.env.SCW_SECRET_KEY = "11111111-1111-1111-1111-111111111111"; // pushing the built image needs one
    try {
      const views = await viewsOf(SERVERLESS_STACK, parse(serverlessConfigInput(), SERVERLESS_SECRETS, SERVERLESS_STACK), SERVERLESS_SECRETS);
      expect(countByType(views)).toEqual(EXPECTED[SERVERLESS_STACK]);
      expect(resourceRules(views)).toEqual([]);
      expect(stackRules(views)).toEqual([]);
      const instance = only(views, TYPES.dbInstance);
      expect([instance.props.loadBalancer, isSet(instance.props.privateNetwork), views.some((v) => v.type === TYPES.dbAcl)]).toEqual([undefined, true, false]);
      const domains = views.filter((v) => v.type === TYPES.containerDomain);
      expect(domains.length).toBeGreaterThan(0);
      for (const domain of domains) expect(domain.propertyDependencies.containerId).toHaveLength(1);
      // Not vacuous: the same containers without HTTPS only are refused.
      const plain = views.map((v) => (v.type === TYPES.container ? withProps(v, { httpsConnectionsOnly: undefined }) : v));
      expect(tlsOnPublicHosts(plain).length).toBe(views.filter((v) => v.type === TYPES.container).length);
    } finally {
      if (savedKey === undefined) delete process.env.SCW_SECRET_KEY;
      else process.env.SCW_SECRET_KEY = savedKey;
    }
  });

  it("passes the rewrite and local stack files", async () => {
    for (const file of ["rewrite", "local"]) {
      const views = await declaredViews(file);
      expect(resourceRules(views)).toEqual([]);
      expect(stackRules(views)).toEqual([]);
    }
  });
});

describe("prod-data-protected", () => {
  it("flags the prod database instance when database.protect is false, with the key to change", async () => {
    const views = await declaredViews("prod", "prod", (c) => (c.database.protect = false));
    const flagged = views.filter((v) => prodDataProtected(v).length > 0);
    expect(flagged.map((v) => v.name)).toEqual(["prod-db-instance"]);
    expect(prodDataProtected(flagged[0]!)[0]).toMatch(/not protected[\s\S]*pulumi config set --path permacoop:database\.protect true -s prod/);
  });

  it("leaves other stacks alone", async () => {
    const views = await declaredViews("prod", "rewrite", (c) => (c.database.protect = false));
    expect(only(views, TYPES.dbInstance).protect).toBe(false);
    expect(views.flatMap(prodDataProtected)).toEqual([]);
  });

  it("treats a resource named *-data like the instance (a container database's volume)", () => {
    const volume = (stack: string, protect: boolean): ResourceView => ({
      type: "command:local:Command",
      name: `${stack}-db-data`,
      urn: urnOf(stack, "command:local:Command", `${stack}-db-data`),
      props: {},
      protect,
      propertyDependencies: {},
    });
    expect(holdsData(volume("prod", false))).toBe(true);
    expect(prodDataProtected(volume("prod", false))).toEqual([expect.stringContaining("prod-db-data (command:local:Command) holds the production data")]);
    expect(prodDataProtected(volume("prod", true))).toEqual([]);
    expect(prodDataProtected(volume("staging", false))).toEqual([]);
  });
});

describe("database-not-public", () => {
  let views: ResourceView[];
  let instance: ResourceView;
  let acl: ResourceView;
  beforeAll(async () => {
    views = await declaredViews("prod");
    instance = only(views, TYPES.dbInstance);
    acl = only(views, TYPES.dbAcl);
  });
  const replaced = (...changed: ResourceView[]) => views.map((v) => changed.find((c) => c.urn === v.urn) ?? v);
  const withAclIps = (...ips: unknown[]) => replaced(withProps(acl, { aclRules: ips.map((ip) => ({ ip, description: "x" })) }));

  it("accepts single hosts, IPv4 or IPv6, with or without a prefix", () => {
    expect(databaseNotPublic(withAclIps("203.0.113.7/32", "2001:db8::7/128", "203.0.113.8"))).toEqual([]);
  });

  it("refuses 0.0.0.0/0, ::/0 and whole networks, naming the rule", () => {
    const violations = databaseNotPublic(withAclIps("0.0.0.0/0", "::/0", "198.51.100.0/24"));
    expect(violations.map((v) => v.urn)).toEqual([acl.urn, acl.urn, acl.urn]);
    expect(violations[0]!.message).toMatch(/admits every address \(aclRules\[0\]\.ip is 0\.0\.0\.0\/0\)[\s\S]*components\/database\/managed\.ts/);
    expect(violations[1]!.message).toContain("aclRules[1].ip is ::/0");
    expect(violations[2]!.message).toContain("admits a whole network (aclRules[2].ip is 198.51.100.0/24)");
  });

  it("leaves addresses unknown during a preview to pulumi up", () => {
    expect(databaseNotPublic(withAclIps(UNKNOWN))).toEqual([]);
    expect(databaseNotPublic(replaced(withProps(acl, { aclRules: UNKNOWN })))).toEqual([]);
  });

  it("refuses a public instance without an ACL, or whose ACL belongs to another instance", () => {
    const [noAcl] = databaseNotPublic(views.filter((v) => v.type !== TYPES.dbAcl));
    expect(noAcl).toEqual({ urn: instance.urn, message: expect.stringMatching(/public endpoint and no ACL[\s\S]*0\.0\.0\.0\/0/) });
    const elsewhere = { ...acl, propertyDependencies: { instanceId: [urnOf("prod", TYPES.dbInstance, "other")] } };
    expect(databaseNotPublic(replaced(elsewhere)).map((v) => v.urn)).toEqual([instance.urn]);
  });

  it("accepts an instance reached only over a private network, without an ACL", () => {
    const withoutAcl = (changed: ResourceView) => replaced(changed).filter((v) => v.type !== TYPES.dbAcl);
    const privateOnly = withProps(instance, { loadBalancer: undefined, privateNetwork: { pnId: "fr-par/pn-1" } });
    expect(databaseNotPublic(withoutAcl(privateOnly))).toEqual([]);
    // A private network next to the public endpoint, or no endpoint given (Scaleway then opens a public one): an ACL is needed.
    expect(databaseNotPublic(withoutAcl(withProps(instance, { privateNetwork: { pnId: "fr-par/pn-1" } })))).toHaveLength(1);
    expect(databaseNotPublic(withoutAcl(withProps(instance, { loadBalancer: undefined })))).toHaveLength(1);
  });
});

describe("tls-on-public-hosts", () => {
  it("refuses a public host without a certificate, naming the config key", async () => {
    const views = await declaredViews("rewrite", "rewrite", (c) => (c.tls = { enabled: false }));
    expect(views.some((v) => v.name.endsWith("-certificate"))).toBe(false);
    expect(tlsOnPublicHosts(views)).toEqual([
      { message: expect.stringMatching(/public host \(rewrite-host-server\)[\s\S]*pulumi config set --path permacoop:tls\.enabled true -s rewrite/) },
    ]);
  });

  it("refuses rollouts over SSH without a certificate, and exempts local stacks", async () => {
    const rollout: ResourceView = {
      type: TYPES.remoteCommand,
      name: "staging-runtime-app-rollout",
      urn: urnOf("staging", TYPES.remoteCommand, "staging-runtime-app-rollout"),
      props: {},
      protect: false,
      propertyDependencies: {},
    };
    expect(tlsOnPublicHosts([rollout])).toHaveLength(1);
    const local = await declaredViews("local");
    expect(local.filter((v) => v.type.startsWith("command:")).every((v) => v.type === "command:local:Command")).toBe(true);
    expect(tlsOnPublicHosts(local)).toEqual([]);
  });

  describe("serverless containers", () => {
    const resource = (type: string, name: string, props: Record<string, unknown>, containerId: string[] = []): ResourceView => ({
      type,
      name,
      urn: urnOf("prod", type, name),
      props,
      protect: false,
      propertyDependencies: containerId.length > 0 ? { containerId } : {},
    });
    const app = (httpOption?: unknown) => resource(TYPES.container, "prod-app", httpOption === undefined ? {} : { httpOption });
    const worker = resource(TYPES.container, "prod-worker", {});
    const domainOf = (container: ResourceView) => resource(TYPES.containerDomain, "prod-domain", { hostname: "app.example.org" }, [container.urn]);

    it('requires httpsConnectionsOnly (or httpOption "redirected") on a container behind a custom domain', () => {
      for (const option of [undefined, "enabled"]) {
        const [violation] = tlsOnPublicHosts([app(option), domainOf(app(option))]);
        expect(violation).toEqual({ urn: app().urn, message: expect.stringMatching(/custom domain but answers plain HTTP[\s\S]*httpsConnectionsOnly: true/) });
      }
      expect(tlsOnPublicHosts([app("redirected"), domainOf(app())])).toEqual([]);
      expect(tlsOnPublicHosts([app(UNKNOWN), domainOf(app())])).toEqual([]);
      const httpsOnly = (value: unknown) => resource(TYPES.container, "prod-app", { httpsConnectionsOnly: value });
      expect(tlsOnPublicHosts([httpsOnly(true), domainOf(app())])).toEqual([]);
      expect(tlsOnPublicHosts([httpsOnly(false), domainOf(app())])).toHaveLength(1);
    });

    it("leaves containers without a domain alone; with an unlinked domain, checks them all", () => {
      expect(tlsOnPublicHosts([app(), worker])).toEqual([]);
      expect(tlsOnPublicHosts([app("redirected"), worker, domainOf(app())])).toEqual([]);
      const unlinked = resource(TYPES.containerDomain, "prod-domain", { containerId: "fr-par/abc" });
      expect(tlsOnPublicHosts([app("redirected"), worker, unlinked]).map((v) => v.urn)).toEqual([worker.urn]);
    });
  });
});

describe("several VMs behind a Load Balancer", () => {
  let views: ResourceView[];
  let http: ResourceView;
  let https: ResourceView;
  beforeAll(async () => {
    views = await declaredViews("prod", "prod", (c) => (c.host.count = 2));
    const frontends = views.filter((v) => v.type === TYPES.lbFrontend);
    http = frontends.find((f) => f.props.inboundPort === 80)!;
    https = frontends.find((f) => f.props.inboundPort === 443)!;
  });
  const replaced = (...changed: ResourceView[]) => views.map((v) => changed.find((c) => c.urn === v.urn) ?? v);

  it("passes: the certificate on 443, 80 redirecting to HTTPS, the database admitting each VM alone", () => {
    expect(resourceRules(views)).toEqual([]);
    expect(stackRules(views)).toEqual([]);
    // Not vacuous: the frontends are the Load Balancer's, the ACL has a rule per VM, the certificate is the Load Balancer's.
    expect(http.propertyDependencies.lbId).toEqual(https.propertyDependencies.lbId);
    expect((only(views, TYPES.dbAcl).props.aclRules as { ip: string }[]).map((r) => r.ip)).toEqual(["203.0.113.10/32", "203.0.113.11/32"]);
    expect(views.filter((v) => v.name.endsWith("-certificate")).map((v) => v.name)).toEqual(["prod-lb-certificate"]);
  });

  it("refuses 443 without a certificate, and 80 without the redirect, naming the frontend", () => {
    const violations = tlsOnPublicHosts(replaced(withProps(https, { certificateIds: [] }), withProps(http, { acls: [] })));
    expect(violations).toEqual([
      { urn: https.urn, message: expect.stringMatching(/listens on 443 without a certificate[\s\S]*components\/network\/loadBalancer\.ts/) },
      { urn: http.urn, message: expect.stringContaining("answers plain HTTP on 80 next to HTTPS on 443") },
    ]);
    const allow = [{ action: { type: "allow" }, match: { ipSubnets: ["0.0.0.0/0"] } }];
    expect(tlsOnPublicHosts(replaced(withProps(http, { acls: allow }))).map((v) => v.urn)).toEqual([http.urn]);
    const location = [{ action: { type: "redirect", redirects: [{ type: "location", target: "https://permacoop.fairness.coop" }] } }];
    expect(tlsOnPublicHosts(replaced(withProps(http, { acls: location })))).toEqual([]);
  });

  it("refuses a Load Balancer serving plain HTTP only, and leaves values unknown during a preview to pulumi up", async () => {
    const plain = await declaredViews("prod", "prod", (c) => {
      c.host.count = 2;
      c.tls = { enabled: false };
    });
    expect(tlsOnPublicHosts(plain)).toEqual(
      expect.arrayContaining([
        { urn: expect.stringMatching(/prod-lb-http$/), message: expect.stringMatching(/no frontend serves HTTPS[\s\S]*tls\.enabled true -s prod/) },
      ]),
    );
    expect(tlsOnPublicHosts(replaced(withProps(https, { certificateIds: UNKNOWN }), withProps(http, { acls: UNKNOWN })))).toEqual([]);
  });
});

describe("security-group-default-drop", () => {
  it("refuses adminCidrs open to the whole internet, naming the config key", async () => {
    const views = await declaredViews("prod", "prod", (c) => (c.host.adminCidrs = ["198.51.100.0/24", "0.0.0.0/0", "::/0"]));
    const violations = securityGroupDefaultDrop(only(views, TYPES.securityGroup));
    expect(violations).toHaveLength(2);
    expect(violations[0]).toMatch(/admits SSH \(port 22\) from 0\.0\.0\.0\/0[\s\S]*permacoop:host\.adminCidrs[\s\S]*-s prod/);
    expect(violations[1]).toContain("from ::/0");
  });

  it("refuses a default accept, and SSH inside a port range or an all-ports rule", async () => {
    const sg = only(await declaredViews("prod"), TYPES.securityGroup);
    expect(securityGroupDefaultDrop(sg)).toEqual([]);
    expect(securityGroupDefaultDrop(withProps(sg, { inboundDefaultPolicy: "accept" }))).toEqual([expect.stringContaining('inboundDefaultPolicy is "accept"')]);
    expect(securityGroupDefaultDrop(withProps(sg, { inboundDefaultPolicy: undefined }))).toEqual([expect.stringContaining('unset, i.e. "accept"')]);
    const rules = (extra: Record<string, unknown>) => withProps(sg, { inboundRules: [{ action: "accept", ipRange: "::/0", ...extra }] });
    expect(securityGroupDefaultDrop(rules({ protocol: "TCP", portRange: "20-30" }))).toHaveLength(1);
    expect(securityGroupDefaultDrop(rules({ protocol: "ANY" }))).toHaveLength(1);
    expect(securityGroupDefaultDrop(rules({ protocol: "TCP", port: 443 }))).toEqual([]);
    expect(securityGroupDefaultDrop(rules({ protocol: "UDP", port: 22 }))).toEqual([]);
    expect(securityGroupDefaultDrop(rules({ action: "drop", protocol: "TCP", port: 22 }))).toEqual([]);
    expect(securityGroupDefaultDrop(rules({ protocol: "TCP", port: 22, ipRange: UNKNOWN }))).toEqual([]);
  });
});

describe("addresses", () => {
  it("tells the whole internet and single hosts apart", () => {
    expect(["0.0.0.0/0", "::/0"].every(isWholeInternet)).toBe(true);
    expect(["0.0.0.0/1", "203.0.113.7/32", "2001:db8::/32"].some(isWholeInternet)).toBe(false);
    expect(["203.0.113.7/32", "203.0.113.7", "2001:db8::7/128", "2001:db8::7"].every(isSingleHost)).toBe(true);
    expect(["203.0.113.0/24", "2001:db8::/64", "2001:db8::7/32"].some(isSingleHost)).toBe(false);
  });
});
