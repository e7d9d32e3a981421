import * as pulumi from "@pulumi/pulumi";
import { ConfigError } from "../../../../components/config/load";
import { Environment } from "../../../../components/environment";
import { ScalewayContainerHost } from "../../../../components/host/scalewayContainers";
import { promotedRef } from "../../../../components/registry/images";
import { contextHash } from "../../../../components/runtime/images";
import { EXPECTED } from "../../../support/expected";
import { PINNED_DOCS_IMAGE, SERVERLESS_SECRETS, SERVERLESS_STACK, serverlessConfigInput } from "../../../support/serverlessStack";
import { Declared, fakeDigest, installMocks, parse, recorder, STACK_OUTPUTS, validConfigInput, valueOf } from "../../../support/mocks";

type Mutable = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const SECRET_KEY = "11111111-1111-1111-1111-111111111111";
const STAGING = "fairnesscoop/permacoop-infra/staging";
const STAGING_APP = `rg.fr-par.scw.cloud/permacoop-staging/app@${fakeDigest("staging app")}`;

beforeAll(() => installMocks(SERVERLESS_STACK));

const savedKey = process.env.SCW_SECRET_KEY;
beforeEach(() => (process.env.SCW_SECRET_KEY = SECRET_KEY));
afterAll(() => (savedKey === undefined ? delete process.env.SCW_SECRET_KEY : (process.env.SCW_SECRET_KEY = savedKey)));

async function build(mutate: (c: Mutable) => void = () => undefined, stack = SERVERLESS_STACK) {
  const declared: Declared[] = [];
  const input = serverlessConfigInput() as Mutable;
  mutate(input);
  const config = parse(input, SERVERLESS_SECRETS, stack);
  const secrets = Object.fromEntries(Object.entries(SERVERLESS_SECRETS).map(([key, value]) => [key, pulumi.secret(value)]));
  const env = new Environment(stack, { name: stack, config, secrets }, { transformations: [recorder(declared)] });
  await valueOf((env.host as ScalewayContainerHost).containers.namespace.id); // let the declarations settle
  const ofType = (type: string) => declared.filter((d) => d.type === type);
  const one = (type: string) => {
    const found = ofType(type);
    expect(found).toHaveLength(1);
    return found[0]!;
  };
  const container = (service: string) => ofType("scaleway:containers/container:Container").find((d) => d.props.name === service)!;
  return { env, declared, ofType, one, container };
}

describe("scaleway-container host (Serverless Containers)", () => {
  it("declares exactly the sample stack's EXPECTED resources: no VM, no runtime commands, no nginx", async () => {
    const { declared } = await build();
    const counts: Record<string, number> = {};
    for (const d of declared) if (!d.type.startsWith("pulumi:") && !d.type.startsWith("permacoop:")) counts[d.type] = (counts[d.type] ?? 0) + 1;
    expect(Object.fromEntries(Object.entries(counts).sort(([a], [b]) => a.localeCompare(b)))).toEqual(EXPECTED[SERVERLESS_STACK]);
  });

  it("runs one container per service with its scale, limits, HTTPS only and probes on its health path", async () => {
    const { container } = await build();
    expect(container("app").props).toMatchObject({
      port: 3000,
      minScale: 1,
      maxScale: 10,
      cpuLimit: 560,
      memoryLimitBytes: 1024 * 1024 * 1024,
      httpsConnectionsOnly: true,
      privacy: "public",
      region: "fr-par",
      startupProbe: { http: { path: "/healthz" }, interval: "1s", timeout: "5s", failureThreshold: 30 },
      livenessProbe: { http: { path: "/healthz" }, interval: "10s", failureThreshold: 3 },
    });
    expect(container("docs").props).toMatchObject({
      port: 8080,
      minScale: 0,
      maxScale: 2,
      cpuLimit: 140,
      memoryLimitBytes: 256 * 1024 * 1024,
      livenessProbe: { http: { path: "/" } },
    });
  });

  it("passes plain env as plain variables and secrets + DATABASE_* as secret variables", async () => {
    const { container } = await build();
    const app = container("app").props;
    expect(app.environmentVariables).toEqual({ NODE_ENV: "production" });
    const secretVars = app.secretEnvironmentVariables as pulumi.Output<Record<string, string>>;
    expect(await pulumi.isSecret(secretVars)).toBe(true);
    expect(await valueOf(secretVars)).toEqual({
      CALENDAR_TOKEN: "calendar-token-value",
      DATABASE_HOST: "172.16.0.2",
      DATABASE_PORT: "5432",
      DATABASE_USERNAME: "permacoop",
      DATABASE_PASSWORD: "pw-serverless-db-user-password",
      DATABASE_NAME: "permacoop",
    });
  });

  it("keeps the database off the Internet: a Private Network endpoint only, shared with the containers", async () => {
    const { one, ofType, container } = await build();
    const instance = one("scaleway:databases/instance:Instance");
    expect(instance.props.loadBalancer).toBeUndefined();
    expect(instance.props.privateNetwork).toMatchObject({ enableIpam: true });
    const pnId = await valueOf((instance.props.privateNetwork as { pnId: pulumi.Input<string> }).pnId);
    expect(pnId).toBe("serverless-network-pn-id");
    expect(await valueOf(container("app").props.privateNetworkId as pulumi.Input<string>)).toBe(pnId);
    // ACLs filter the public endpoint; there is none to filter.
    expect(ofType("scaleway:databases/acl:Acl")).toHaveLength(0);
    const network = one("scaleway:network/privateNetwork:PrivateNetwork");
    expect(await valueOf(network.props.vpcId as pulumi.Input<string>)).toBe("serverless-network-vpc-id");
  });

  it("builds and pushes images, and addresses the container by digest", async () => {
    const { one, container, env } = await build();
    const local = one("docker:index/remoteImage:RemoteImage");
    const tag = `rg.fr-par.scw.cloud/permacoop-serverless-sample/app:${contextHash("app")}`;
    expect(await valueOf(local.props.name as pulumi.Input<string>)).toBe(tag);
    expect(local.props.build).toMatchObject({ context: "app", dockerfile: "Dockerfile", platform: "linux/amd64" });
    const push = one("docker:index/registryImage:RegistryImage");
    expect(push.props.keepRemotely).toBe(true);
    const provider = one("pulumi:providers:docker");
    expect(push.opts.provider).toBeDefined();
    // A provider's nested config reaches the engine as JSON: secret as a whole.
    const registryAuth = provider.props.registryAuth as pulumi.Output<string>;
    expect(await pulumi.isSecret(registryAuth)).toBe(true);
    expect(JSON.parse(await valueOf(registryAuth))).toEqual([{ address: "rg.fr-par.scw.cloud", username: "nologin", password: SECRET_KEY }]);

    const appImage = `rg.fr-par.scw.cloud/permacoop-serverless-sample/app@${fakeDigest(`pushed ${tag}`)}`;
    expect(await valueOf(container("app").props.image as pulumi.Input<string>)).toBe(appImage);
    expect(await valueOf(container("docs").props.image as pulumi.Input<string>)).toBe(PINNED_DOCS_IMAGE);
    expect(await valueOf(env.host.outputs.images!)).toEqual({ app: appImage, docs: PINNED_DOCS_IMAGE });
  });

  it("gives an unchanged build context the same tag, so nothing is rebuilt, pushed or redeployed", async () => {
    const first = await build();
    const second = await build();
    const image = async (b: typeof first) => valueOf(b.container("app").props.image as pulumi.Input<string>);
    expect(await image(second)).toBe(await image(first));
  });

  it("binds each hostname to its service: a CNAME to the container's domain, then the domain binding", async () => {
    const { ofType, declared } = await build();
    const records = ofType("scaleway:domain/record:Record");
    const domains = ofType("scaleway:containers/domain:Domain");
    const cname = async (label: string) => {
      const record = records.find((r) => r.props.name === label)!;
      expect(record.props).toMatchObject({ dnsZone: "example.org", type: "CNAME", ttl: 300 });
      expect((record.opts as pulumi.CustomResourceOptions).deleteBeforeReplace).toBe(true);
      return valueOf(record.props.data as pulumi.Input<string>);
    };
    expect(await cname("permacoop")).toBe("permacoopapp-x1y2.functions.fnc.fr-par.scw.cloud.");
    expect(await cname("www.permacoop")).toBe("permacoopapp-x1y2.functions.fnc.fr-par.scw.cloud.");
    expect(await cname("docs.permacoop")).toBe("permacoopdocs-x1y2.functions.fnc.fr-par.scw.cloud.");

    const containerIdOf = async (hostname: string) => valueOf(domains.find((d) => d.props.hostname === hostname)!.props.containerId as pulumi.Input<string>);
    expect(await containerIdOf("permacoop.example.org")).toBe("serverless-containers-app-id");
    expect(await containerIdOf("www.permacoop.example.org")).toBe("serverless-containers-app-id");
    expect(await containerIdOf("docs.permacoop.example.org")).toBe("serverless-containers-docs-id");
    for (const domain of domains) {
      expect((domain.opts as pulumi.CustomResourceOptions).deleteBeforeReplace).toBe(true);
      const dependsOn = (domain.opts.dependsOn ?? []) as pulumi.Resource[];
      const urns = await Promise.all(dependsOn.map((r) => valueOf((r as pulumi.CustomResource).urn)));
      const label = domain.name.replace(/^serverless-containers-/, "").replace(/-domain$/, "");
      expect(urns.some((urn) => urn.endsWith(`serverless-containers-${label}-cname`))).toBe(true);
    }
    expect(declared.some((d) => d.type.startsWith("command:"))).toBe(false);
  });

  it("serves the first hostname as the URL", async () => {
    const { env } = await build();
    expect(env.url).toBe("https://permacoop.example.org");
    expect(env.runtimes).toEqual([]);
  });

  it("refuses to build without the Scaleway secret key, before declaring anything", async () => {
    delete process.env.SCW_SECRET_KEY;
    await expect(build()).rejects.toThrow(/services app build an image[\s\S]*export SCW_SECRET_KEY/);
  });
});

describe("promotion between stacks", () => {
  afterEach(() => delete STACK_OUTPUTS[STAGING]);

  const promoted = (c: Mutable) => {
    delete c.services[0].build;
    c.services[0].fromStack = STAGING;
  };

  it("ships the other stack's image by digest, through one StackReference, and builds nothing", async () => {
    STACK_OUTPUTS[STAGING] = { images: { app: STAGING_APP, docs: PINNED_DOCS_IMAGE } };
    const { ofType, one, container, env } = await build(promoted, "prod");
    expect(one("pulumi:pulumi:StackReference").props.name).toBe(STAGING);
    expect(await valueOf(container("app").props.image as pulumi.Input<string>)).toBe(STAGING_APP);
    expect(await valueOf(env.host.outputs.images!)).toEqual({ app: STAGING_APP, docs: PINNED_DOCS_IMAGE });
    expect(ofType("docker:index/remoteImage:RemoteImage")).toHaveLength(0);
    expect(ofType("docker:index/registryImage:RegistryImage")).toHaveLength(0);
    expect(ofType("scaleway:registry/namespace:Namespace")).toHaveLength(0);
    // prod's data is protected here as on a VM.
    expect(one("scaleway:databases/instance:Instance").opts.protect).toBe(true);
  });

  it("needs no Scaleway secret key when nothing is built", async () => {
    STACK_OUTPUTS[STAGING] = { images: { app: STAGING_APP } };
    delete process.env.SCW_SECRET_KEY;
    const { container } = await build(promoted, "prod");
    expect(await valueOf(container("app").props.image as pulumi.Input<string>)).toBe(STAGING_APP);
  });

  it("fails with the fix when the other stack has no image by digest for the service", async () => {
    // Checked on the value alone: a resource given a failing input fails the whole program (as it should).
    const check = (images: unknown) => () => promotedRef(images, STAGING, "app", "permacoop:services[0].fromStack");
    const why =
      /permacoop:services\[0\]\.fromStack: stack fairnesscoop\/permacoop-infra\/staging exports no image by digest for service "app"[\s\S]*pulumi up on fairnesscoop\/permacoop-infra\/staging[\s\S]*permacoop:services\[0\]\.image' <name>@sha256:<digest>/;
    expect(check({ app: "permacoop/reference-app:latest" })).toThrow(why);
    expect(check({ docs: PINNED_DOCS_IMAGE })).toThrow(/its images output has null/);
    expect(check(undefined)).toThrow(why);
    expect(check({ app: STAGING_APP })()).toBe(STAGING_APP);
  });
});

describe("scaleway-container config contract", () => {
  function problemsOf(mutate: (c: Mutable) => void, base: () => Mutable = () => serverlessConfigInput() as Mutable): ConfigError {
    const input = base();
    mutate(input);
    try {
      parse(input, SERVERLESS_SECRETS, SERVERLESS_STACK);
    } catch (error) {
      if (error instanceof ConfigError) return error;
      throw error;
    }
    throw new Error("expected the configuration to be rejected");
  }

  it("accepts the sample and fills the documented defaults", () => {
    const input = serverlessConfigInput() as Mutable;
    input.host = { kind: "scaleway-container" };
    // As Pulumi.yaml's project default gives it: no ACME e-mail, the platform issues the certificates.
    input.tls = { enabled: true, acmeDirectory: "https://acme-v02.api.letsencrypt.org/directory" };
    const config = parse(input, SERVERLESS_SECRETS);
    expect(config.host).toEqual({ kind: "scaleway-container", region: "fr-par", minScale: 1, maxScale: 5, cpuLimit: 560, memoryLimitMb: 1024, services: {} });
  });

  // What is wrong, the key the error must name, and a piece of the fix it must give.
  const malformed: [string, (c: Mutable) => void, string, RegExp][] = [
    [
      "a container database",
      (c) => (c.database = { kind: "container" }),
      "permacoop:database.kind",
      /pulumi config set --path 'permacoop:database\.kind' scaleway-managed/,
    ],
    [
      "a read timeout per route (no edge of ours)",
      (c) => (c.services[0].readTimeoutSeconds = 300),
      "permacoop:services[0].readTimeoutSeconds",
      /pulumi config rm --path 'permacoop:services\[0\]\.readTimeoutSeconds'/,
    ],
    [
      "a body size per route (the platform's limit applies)",
      (c) => (c.services[0].clientMaxBodySize = "50m"),
      "permacoop:services[0].clientMaxBodySize",
      /pulumi config rm --path 'permacoop:services\[0\]\.clientMaxBodySize'/,
    ],
    ["a database in another region", (c) => (c.database.region = "nl-ams"), "permacoop:database.region", /database\.region' fr-par/],
    [
      "DNS kept at a registrar",
      (c) => (c.dns = { provider: "external", hostnames: ["permacoop.example.org"] }),
      "permacoop:dns.provider",
      /dns\.provider' scaleway/,
    ],
    ["the zone apex as a hostname", (c) => c.dns.hostnames.push("example.org"), "permacoop:dns.hostnames[3]", /dns\.hostnames\[3\]' www\.example\.org/],
    ["TLS switched off", (c) => (c.tls = { enabled: false }), "permacoop:tls.enabled", /pulumi config rm --path 'permacoop:tls\.enabled'/],
    [
      "a service routed by path",
      (c) => {
        c.services[1].route = "/docs/";
        delete c.host.services.docs;
      },
      "permacoop:services[1].route",
      /config rm --path 'permacoop:services\[1\]\.route'.*host\.services\.docs\.hostnames\[0\]' docs\.example\.org/,
    ],
    [
      "two services on one hostname",
      (c) => (c.host.services.app = { hostnames: ["docs.permacoop.example.org"] }),
      "permacoop:host.services.app.hostnames[0]",
      /pulumi config rm --path 'permacoop:host\.services\.app\.hostnames\[0\]'/,
    ],
    [
      "a hostname outside dns.hostnames",
      (c) => (c.host.services.docs.hostnames = ["api.example.org"]),
      "permacoop:host.services.docs.hostnames[0]",
      /dns\.hostnames\[3\]' api\.example\.org/,
    ],
    [
      "settings for an unknown service",
      (c) => (c.host.services.worker = { minScale: 0 }),
      "permacoop:host.services.worker",
      /config rm --path 'permacoop:host\.services\.worker'/,
    ],
    ["minScale above maxScale", (c) => (c.host.services.docs.minScale = 3), "permacoop:host.services.docs.minScale", /host\.services\.docs\.minScale' 2/],
    ["too little memory", (c) => (c.host.memoryLimitMb = 64), "permacoop:host.memoryLimitMb", /host\.memoryLimitMb' 1024/],
    ["a misspelt host key", (c) => (c.host.minscale = 2), "permacoop:host.minscale", /pulumi config rm --path 'permacoop:host\.minscale'/],
    [
      "a registry namespace with capitals",
      (c) => (c.host.registryNamespace = "Permacoop"),
      "permacoop:host.registryNamespace",
      /registryNamespace' permacoop-staging/,
    ],
    [
      "build and fromStack together",
      (c) => (c.services[0].fromStack = STAGING),
      "permacoop:services[0].fromStack",
      /pulumi config rm --path 'permacoop:services\[0\]\.fromStack'/,
    ],
    [
      "a stack name that is not fully qualified",
      (c) => (c.services[1].fromStack = "staging"),
      "permacoop:services[1].fromStack",
      /fromStack' fairnesscoop\/permacoop-infra\/staging/,
    ],
    ["a digest that is not sha256", (c) => (c.services[1].image = "ghcr.io/x/docs@sha256:abc"), "permacoop:services[1].image", /services\[1\]\.image'/],
  ];

  it.each(malformed.map(([what, mutate, key, fix]) => [what, key, mutate, fix] as const))("rejects %s, naming %s", (_what, key, mutate, fix) => {
    const error = problemsOf(mutate);
    expect(error.problems.map((p) => p.key)).toContain(key);
    const problem = error.problems.find((p) => p.key === key)!;
    expect(problem.expected).not.toBe("");
    expect(problem.fix).toMatch(/^pulumi config (set|rm)/);
    expect(problem.fix).toMatch(fix);
    expect(error.message).toContain("nothing was changed");
  });

  it("explains why a path route cannot be honoured", () => {
    const error = problemsOf((c) => {
      c.services[1].route = "/docs/";
      delete c.host.services.docs;
    });
    expect(error.message).toMatch(/services\[1\]\.route: expected "\/" on a scaleway-container host: the platform routes by hostname, not by path/);
  });

  it("accepts fromStack on a host that runs Docker itself (promotion works on every host kind)", () => {
    const config = validConfigInput() as Mutable;
    config.services[0].fromStack = STAGING;
    expect(() => parse(config, { calendarToken: "t" }, "prod")).not.toThrow();
  });
});
