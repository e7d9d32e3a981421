import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { parse as parseYaml } from "yaml";
import { Environment } from "../../../../components/environment";
import { inboundRules, ScalewayVmHost } from "../../../../components/host/scalewayVm";
import { relativeName } from "../../../../components/dns/records";
import { installedScript } from "../../../support/hostScripts";
import { Declared, installMocks, parse, recorder, validConfigInput, valueOf } from "../../../support/mocks";
import { PROJECT_DIR } from "../../../support/stackFiles";

/** The VM of a scaleway-vm environment. */
const vmOf = (env: Environment) => (env.host as ScalewayVmHost).vm;

type Mutable = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

beforeAll(() => installMocks());

async function build(stack: string, mutate: (c: Mutable) => void = () => undefined) {
  const declared: Declared[] = [];
  const input = validConfigInput() as Mutable;
  mutate(input);
  const config = parse(input, { calendarToken: "calendar-token-value" }, stack);
  const env = new Environment(
    stack,
    { name: stack, config, secrets: { calendarToken: pulumi.secret("calendar-token-value") } },
    { transformations: [recorder(declared)] },
  );
  await valueOf(vmOf(env).ipv4); // let the declarations settle
  const ofType = (type: string) => declared.filter((d) => d.type === type);
  const one = (type: string) => {
    const found = ofType(type);
    expect(found).toHaveLength(1);
    return found[0]!;
  };
  /** The installed script a remote step's command runs. */
  const scriptOf = async (step: Declared) => {
    const scripts = ofType("command:remote:Command").find((c) => c.name === `${stack}-runtime-scripts`)!;
    return installedScript(await valueOf(scripts.props.stdin as pulumi.Input<string>), await valueOf(step.props.create as pulumi.Input<string>));
  };
  return { env, declared, ofType, one, scriptOf };
}

describe("Scaleway VM host", () => {
  it("drops inbound traffic by default, opens 80/443 to the world and 22 to admin CIDRs only", async () => {
    const { one } = await build("rewrite");
    const sg = one("scaleway:instance/securityGroup:SecurityGroup");
    expect(sg.props.inboundDefaultPolicy).toBe("drop");
    const rules = sg.props.inboundRules as { port: number; ipRange: string }[];
    expect(rules.filter((r) => r.port === 22).map((r) => r.ipRange)).toEqual(["198.51.100.0/24"]);
    expect(
      rules
        .filter((r) => r.port === 80)
        .map((r) => r.ipRange)
        .sort(),
    ).toEqual(["0.0.0.0/0", "::/0"]);
    expect(rules.filter((r) => r.port === 443)).toHaveLength(2);
    expect(new Set(rules.map((r) => r.port))).toEqual(new Set([22, 80, 443]));
  });

  it("boots the server from config with cloud-init, and replaces it when cloud-init changes", async () => {
    const { one } = await build("rewrite", (c) => Object.assign(c.host, { type: "DEV1-M", rootVolumeGb: 40 }));
    const server = one("scaleway:instance/server:Server");
    expect(server.props).toMatchObject({ type: "DEV1-M", image: "debian_bookworm", rootVolume: { sizeInGb: 40 } });
    const cloudInit = (server.props.userData as Record<string, pulumi.Output<string>>)["cloud-init"]!;
    expect(await pulumi.isSecret(cloudInit)).toBe(true); // it carries the VM's host private key
    const userData = await valueOf(cloudInit);
    expect(userData).toMatch(/^#cloud-config\n/);
    expect(userData).toContain("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHc2p5Zb0Q9y8m7x3kVt4Jb9qW1eR6tY2uI8oP0aS4dF ops@example.org");
    expect(userData).toContain("ed25519_private: |");
    expect(userData).toMatch(/ssh-ed25519 \S+ deploy@rewrite-host \(pulumi\)/);
    expect(server.opts.replaceOnChanges).toEqual(["userData"]);
    expect((server.opts as pulumi.CustomResourceOptions).deleteBeforeReplace).toBe(true);
    expect(await valueOf(server.props.securityGroupId as pulumi.Input<string>)).toMatch(/sg-id$/);
  });

  it("adds a routed IPv6 and AAAA records when host.ipv6 is on", async () => {
    const { ofType, env } = await build("rewrite", (c) => (c.host.ipv6 = true));
    expect(
      ofType("scaleway:instance/ip:Ip")
        .map((d) => d.props.type)
        .sort(),
    ).toEqual(["routed_ipv4", "routed_ipv6"]);
    const records = ofType("scaleway:domain/record:Record");
    expect(records.map((r) => r.props.type).sort()).toEqual(["A", "AAAA"]);
    expect(await valueOf(vmOf(env).ipv6!)).toBe("2001:db8:1::1");
  });

  it("exposes pure inbound rules for review", () => {
    expect(inboundRules(["10.0.0.1/32"]).filter((r) => r.port === 22)).toEqual([{ action: "accept", protocol: "TCP", port: 22, ipRange: "10.0.0.1/32" }]);
  });
});

describe("Scaleway VM as an SSH host", () => {
  it("runs the runtime over SSH as the deploy user, with the generated host key pinned", async () => {
    const { env, ofType } = await build("rewrite");
    const connection = await valueOf(vmOf(env).connection);
    expect(connection).toMatchObject({ host: "203.0.113.10", port: 22, user: "deploy", hostKey: expect.stringMatching(/^ssh-ed25519 /) });
    expect(connection.privateKey).toMatch(/^-----BEGIN OPENSSH PRIVATE KEY-----/);
    expect(await pulumi.isSecret(vmOf(env).connection)).toBe(true);
    const remote = ofType("command:remote:Command")
      .map((c) => c.name)
      .sort();
    expect(remote).toEqual([
      "rewrite-host-cloud-init",
      "rewrite-runtime-app-rollout",
      "rewrite-runtime-certificate",
      "rewrite-runtime-env-id",
      "rewrite-runtime-proxy",
      "rewrite-runtime-runtime",
      "rewrite-runtime-scripts",
    ]);
  });

  it("hands ops the pinned host key in clear and the deploy key as a secret, the ones the runtime uses", async () => {
    const { env } = await build("rewrite");
    const connection = await valueOf(vmOf(env).connection);
    expect(await valueOf(vmOf(env).hostPublicKey)).toBe(connection.hostKey);
    expect(await pulumi.isSecret(vmOf(env).hostPublicKey)).toBe(false);
    expect(await valueOf(vmOf(env).deployPrivateKey)).toBe(connection.privateKey);
    expect(await pulumi.isSecret(vmOf(env).deployPrivateKey)).toBe(true);
  });

  it("waits for cloud-init before the runtime, and the runtime before the rollouts", async () => {
    const { ofType } = await build("rewrite");
    const runtime = ofType("command:remote:Command").find((c) => c.name === "rewrite-runtime-runtime")!;
    const dependsOn = (runtime.opts.dependsOn ?? []) as pulumi.Resource[];
    const names = await Promise.all(dependsOn.map((r) => valueOf((r as pulumi.CustomResource).urn)));
    expect(names.some((urn) => urn.endsWith("rewrite-host-cloud-init"))).toBe(true);
    const rollout = ofType("command:remote:Command").find((c) => c.name === "rewrite-runtime-app-rollout")!;
    expect(((rollout.opts.dependsOn ?? []) as pulumi.Resource[]).length).toBeGreaterThan(0);
  });

  it("keeps the managed database out of the runtime: no PostgreSQL container", async () => {
    const { ofType, scriptOf } = await build("rewrite");
    const runtime = ofType("command:remote:Command").find((c) => c.name === "rewrite-runtime-runtime")!;
    expect(await scriptOf(runtime)).toContain("DB_MODE='none'");
  });
});

describe("a replaced VM", () => {
  it("is named by its server id in every host step: a new server runs them all again (as updates, so no old delete runs there)", async () => {
    const { ofType } = await build("review-pr-7", (c) => (c.database = { kind: "container" }));
    const steps = ofType("command:remote:Command").filter((c) => c.name !== "review-pr-7-host-cloud-init");
    expect(steps.map((c) => c.name).sort()).toEqual([
      "review-pr-7-runtime-app-rollout",
      "review-pr-7-runtime-certificate",
      "review-pr-7-runtime-data",
      "review-pr-7-runtime-env-id",
      "review-pr-7-runtime-proxy",
      "review-pr-7-runtime-runtime",
      "review-pr-7-runtime-scripts",
    ]);
    for (const step of steps) {
      for (const key of ["create", "update"] as const) {
        const command = step.props[key] as pulumi.Input<string> | undefined;
        if (command !== undefined)
          expect([step.name, await valueOf(command)]).toEqual([step.name, expect.stringMatching(/^: machine 'review-pr-7-host-server-id'; /)]);
      }
      const remove = step.props.delete as pulumi.Input<string> | undefined;
      if (remove !== undefined) expect(await valueOf(remove)).not.toContain("machine");
      expect(step.props.triggers).toBeUndefined();
    }
  });
});

describe("Scaleway VM with an ephemeral container database (review environments)", () => {
  it("runs PostgreSQL in a container on the VM, declares no managed instance, and hands its password on stdin", async () => {
    const { ofType, scriptOf } = await build("review-pr-7", (c) => (c.database = { kind: "container" }));
    expect(ofType("scaleway:databases/instance:Instance")).toHaveLength(0);
    const runtime = ofType("command:remote:Command").find((c) => c.name === "review-pr-7-runtime-runtime")!;
    expect(await scriptOf(runtime)).toContain("DB_MODE='container'");
    expect(await valueOf(runtime.props.stdin as pulumi.Input<string>)).toBe("POSTGRES_PASSWORD=pw-review-pr-7-db-password\n");
  });
});

describe("managed PostgreSQL", () => {
  it("is PostgreSQL 16, encrypted, with daily backups kept 7 days", async () => {
    const { one } = await build("rewrite");
    const instance = one("scaleway:databases/instance:Instance");
    expect(instance.props).toMatchObject({
      engine: "PostgreSQL-16",
      nodeType: "DB-DEV-S",
      encryptionAtRest: true,
      disableBackup: false,
      backupScheduleFrequency: 24,
      backupScheduleRetention: 7,
    });
  });

  it("has exactly one ACL, admitting the host's IPv4 /32 only", async () => {
    const { ofType } = await build("rewrite");
    const acls = ofType("scaleway:databases/acl:Acl");
    expect(acls).toHaveLength(1);
    const rules = await valueOf(acls[0]!.props.aclRules as pulumi.Input<{ ip: string }[]>);
    expect(rules.map((r) => r.ip)).toEqual(["203.0.113.10/32"]);
  });

  it("creates the database, a non-admin user with a random password, and its privilege", async () => {
    const { one } = await build("rewrite");
    expect(one("scaleway:databases/database:Database").props.name).toBe("permacoop");
    const user = one("scaleway:databases/user:User");
    expect(user.props).toMatchObject({ name: "permacoop", isAdmin: false });
    expect(await valueOf(user.props.password as pulumi.Input<string>)).toBe("pw-rewrite-db-user-password");
    expect(one("scaleway:databases/privilege:Privilege").props).toMatchObject({ permission: "all" });
  });

  it("is protected on prod by default, not elsewhere, and config overrides it", async () => {
    const protectedOf = async (stack: string, mutate?: (c: Mutable) => void) => {
      const { one } = await build(stack, mutate);
      return [one("scaleway:databases/instance:Instance").opts.protect, one("scaleway:databases/database:Database").opts.protect];
    };
    expect(await protectedOf("prod")).toEqual([true, true]);
    expect(await protectedOf("rewrite")).toEqual([false, false]);
    expect(await protectedOf("rewrite", (c) => (c.database.protect = true))).toEqual([true, true]);
    expect(await protectedOf("prod", (c) => (c.database.protect = false))).toEqual([false, false]);
  });

  it("hands the services DATABASE_* as a secret", async () => {
    const { env } = await build("rewrite");
    expect(await pulumi.isSecret((env.host as ScalewayVmHost).managedDatabase!.env)).toBe(true);
    expect(await valueOf((env.host as ScalewayVmHost).managedDatabase!.env)).toEqual({
      DATABASE_HOST: "198.51.100.20",
      DATABASE_PORT: "5432",
      DATABASE_USERNAME: "permacoop",
      DATABASE_PASSWORD: "pw-rewrite-db-user-password",
      DATABASE_NAME: "permacoop",
    });
  });
});

describe("service environment", () => {
  it("merges plain env, secrets and DATABASE_*, and stays secret", async () => {
    const { env } = await build("rewrite");
    const appEnv = env.serviceEnv.app!;
    expect(await pulumi.isSecret(appEnv)).toBe(true);
    expect(await valueOf(appEnv)).toMatchObject({ NODE_ENV: "production", CALENDAR_TOKEN: "calendar-token-value", DATABASE_NAME: "permacoop" });
  });
});

describe("DNS", () => {
  it("creates one A record per hostname in the Scaleway zone", async () => {
    const { ofType } = await build("rewrite", (c) => (c.dns.hostnames = ["example.org", "www.example.org"]));
    const records = ofType("scaleway:domain/record:Record");
    expect(records.map((r) => [r.props.dnsZone, r.props.name, r.props.type])).toEqual([
      ["example.org", "", "A"],
      ["example.org", "www", "A"],
    ]);
    expect(await valueOf(records[0]!.props.data as pulumi.Input<string>)).toBe("203.0.113.10");
  });

  it("with DNS managed elsewhere, creates nothing and exports the records to create", async () => {
    const { ofType, env } = await build("rewrite", (c) => (c.dns = { provider: "external", hostnames: ["rewrite.example.net"] }));
    expect(ofType("scaleway:domain/record:Record")).toHaveLength(0);
    expect(await valueOf(env.recordsToCreate)).toEqual([{ fqdn: "rewrite.example.net", type: "A", value: "203.0.113.10", ttl: 300 }]);
  });

  it("computes names relative to the zone", () => {
    expect(relativeName("permacoop.fairness.coop", "fairness.coop")).toBe("permacoop");
    expect(relativeName("fairness.coop", "fairness.coop")).toBe("");
    expect(() => relativeName("x.other.org", "fairness.coop")).toThrow(/not inside zone/);
  });
});

describe("Scaleway VM host: a service with build, no buildRegistry", () => {
  const withBuild = (c: Mutable) => {
    c.host.registryNamespace = "permacoop-staging-7";
    c.services[0].build = { context: "app" };
  };

  afterEach(() => {
    delete process.env.SCW_SECRET_KEY;
  });

  it("needs the Scaleway secret key to push, and says how to give it", async () => {
    await expect(build("staging", withBuild)).rejects.toThrow(/pushing it to the Scaleway registry needs the API secret key: export SCW_SECRET_KEY/);
  });

  it("pushes to the environment's namespace, and the VM pulls by digest with a read-only key of its own, on stdin", async () => {
    process.env.SCW_SECRET_KEY = "operator-full-access-key";
    const { env, ofType, one } = await build("staging", withBuild);
    expect(await valueOf(one("scaleway:registry/namespace:Namespace").props.name as pulumi.Input<string>)).toBe("permacoop-staging-7");
    const policy = one("scaleway:iam/policy:Policy");
    const rules = await valueOf(policy.props.rules as pulumi.Input<{ projectIds: string[]; permissionSetNames: string[] }[]>);
    expect(rules).toEqual([{ projectIds: ["11111111-2222-3333-4444-555555555555"], permissionSetNames: ["ContainerRegistryReadOnly"] }]);
    one("scaleway:iam/apiKey:ApiKey");
    expect((await valueOf(env.images)).app).toMatch(/^rg\.fr-par\.scw\.cloud\/permacoop-staging-7\/app@sha256:[0-9a-f]{64}$/);
    const login = ofType("command:remote:Command").find((c) => c.name === "staging-runtime-registry-rg-fr-par-scw-cloud")!;
    const create = await valueOf(login.props.create as pulumi.Input<string>);
    expect(create).toMatch(/docker login 'rg\.fr-par\.scw\.cloud' --username 'nologin' --password-stdin >\/dev\/null$/);
    expect(await pulumi.isSecret(pulumi.output(login.props.stdin as pulumi.Input<string>))).toBe(true);
    expect(await valueOf(login.props.stdin as pulumi.Input<string>)).toBe("mock-secret-key-of-staging-registry-pull");
    expect(create).not.toContain("operator-full-access-key");
  });
});

describe("several VMs behind a Scaleway Load Balancer (host.count)", () => {
  const several =
    (count: number, more: (c: Mutable) => void = () => undefined) =>
    (c: Mutable) => {
      c.host.count = count;
      c.dns.hostnames = ["app.example.org", "www.example.org"];
      more(c);
    };
  const hostOf = (env: Environment) => env.host as ScalewayVmHost;

  it.each([2, 3])("declares %i VMs, each with its own server, host key and private NIC on one Private Network", async (count) => {
    const { env, ofType, one } = await build("rewrite", several(count));
    const suffixes = ["", ...Array.from({ length: count - 1 }, (_, i) => String(i + 2))];
    expect(ofType("scaleway:instance/server:Server").map((s) => [s.name, s.props.name])).toEqual(
      suffixes.map((n) => [`rewrite-host${n}-server`, `rewrite-host${n}`]),
    );
    expect(ofType("random:index/randomBytes:RandomBytes").map((r) => r.name)).toEqual(
      suffixes.flatMap((n) => (n === "" ? ["rewrite-host-host-key", "rewrite-host-deploy-key"] : [`rewrite-host${n}-host-key`])),
    );
    const network = one("scaleway:network/privateNetwork:PrivateNetwork");
    const nics = ofType("scaleway:instance/privateNic:PrivateNic");
    expect(nics.map((n) => n.name)).toEqual(suffixes.map((n) => `rewrite-host${n}-private-nic`));
    for (const nic of nics) expect(await valueOf(nic.props.privateNetworkId as pulumi.Input<string>)).toBe(`${network.name}-id`);
    expect(ofType("scaleway:ipam/ip:Ip")).toHaveLength(count);
    expect(hostOf(env).machines.map((m) => m.label)).toEqual(suffixes.map((n) => `rewrite-host${n}`));
    const userData = await Promise.all(
      ofType("scaleway:instance/server:Server").map((s) => valueOf((s.props.userData as Record<string, pulumi.Output<string>>)["cloud-init"]!)),
    );
    expect(userData.map((u) => /hostname: (\S+)/.exec(u)?.[1])).toEqual(suffixes.map((n) => `rewrite-host${n}`));
  });

  it("puts one Load Balancer on the Private Network, of host.loadBalancerType, with its own flexible IP", async () => {
    const { one } = await build(
      "rewrite",
      several(2, (c) => (c.host.loadBalancerType = "LB-GP-M")),
    );
    const ip = one("scaleway:loadbalancers/ip:Ip");
    const lb = one("scaleway:loadbalancers/loadBalancer:LoadBalancer");
    expect(lb.props).toMatchObject({ type: "LB-GP-M", zone: "fr-par-1" });
    expect(await valueOf(lb.props.ipIds as pulumi.Input<string[]>)).toEqual([`${ip.name}-id`]);
    const network = one("scaleway:network/privateNetwork:PrivateNetwork");
    expect(await valueOf(lb.props.privateNetworks as pulumi.Input<{ privateNetworkId: string }[]>)).toEqual([{ privateNetworkId: `${network.name}-id` }]);
  });

  it.each([2, 3])("forwards HTTP to the %i VMs' private addresses, health-checking their edges every 3 s", async (count) => {
    const { one } = await build("rewrite", several(count));
    const backend = one("scaleway:loadbalancers/backend:Backend");
    expect(await valueOf(backend.props.serverIps as pulumi.Input<string[]>)).toEqual(Array.from({ length: count }, (_, i) => `172.16.0.${11 + i}`));
    expect(backend.props).toMatchObject({
      forwardProtocol: "http",
      forwardPort: 80,
      healthCheckHttp: { uri: "/healthz", method: "GET", code: 200, hostHeader: "app.example.org" },
      healthCheckDelay: "3s",
      healthCheckTimeout: "1s",
      healthCheckMaxRetries: 3,
    });
    const waitsFor = await Promise.all(((backend.opts.dependsOn ?? []) as pulumi.CustomResource[]).map((r) => valueOf(r.urn)));
    expect(waitsFor.filter((urn) => urn.endsWith("-private-nic"))).toHaveLength(count);
  });

  it("serves HTTPS on 443 with a Let's Encrypt certificate for the hostnames, requested once the DNS points at the Load Balancer", async () => {
    const { ofType, one } = await build("rewrite", several(2));
    const certificate = one("scaleway:loadbalancers/certificate:Certificate");
    expect(certificate.props.letsencrypt).toEqual({ commonName: "app.example.org", subjectAlternativeNames: ["www.example.org"] });
    const records = ofType("scaleway:domain/record:Record");
    expect(records).toHaveLength(2);
    for (const record of records) expect(await valueOf(record.props.data as pulumi.Input<string>)).toBe("203.0.113.100");
    const after = await Promise.all(((certificate.opts.dependsOn ?? []) as pulumi.CustomResource[]).map((r) => valueOf(r.urn)));
    expect(after.sort()).toEqual(records.map((r) => expect.stringMatching(new RegExp(`::${r.name}$`))));
    const frontends = ofType("scaleway:loadbalancers/frontend:Frontend");
    expect(frontends.map((f) => f.props.inboundPort).sort()).toEqual([443, 80]);
    const https = frontends.find((f) => f.props.inboundPort === 443)!;
    expect(await valueOf(https.props.certificateIds as pulumi.Input<string[]>)).toEqual([`${certificate.name}-id`]);
    const http = frontends.find((f) => f.props.inboundPort === 80)!;
    expect(http.props.certificateIds).toBeUndefined();
    expect(http.props.acls).toEqual([
      expect.objectContaining({
        action: { type: "redirect", redirects: [{ type: "scheme", target: "https", code: 301 }] },
        match: { ipSubnets: ["0.0.0.0/0", "::/0"] },
      }),
    ]);
  });

  it("without TLS, serves HTTP on 80 only: no certificate, no 443 frontend, no redirect", async () => {
    const { ofType } = await build(
      "rewrite",
      several(2, (c) => (c.tls = { enabled: false })),
    );
    expect(ofType("scaleway:loadbalancers/certificate:Certificate")).toHaveLength(0);
    const frontends = ofType("scaleway:loadbalancers/frontend:Frontend");
    expect(frontends.map((f) => [f.props.inboundPort, f.props.acls])).toEqual([[80, undefined]]);
  });

  it("leaves TLS to the Load Balancer: no certificate step on any VM, every edge serves HTTP", async () => {
    const { env, ofType } = await build("rewrite", several(2));
    expect(hostOf(env).terminatesTls).toBe(true);
    expect(env.runtimes).toHaveLength(2);
    expect(ofType("command:remote:Command").filter((c) => c.name.endsWith("-certificate"))).toEqual([]);
    expect(env.url).toBe("https://app.example.org");
    // The services hear that their clients came in over HTTPS.
    for (const proxy of ofType("command:remote:Command").filter((c) => c.name.endsWith("-runtime-proxy"))) {
      const edge = await valueOf(proxy.props.stdin as pulumi.Input<string>);
      expect(edge).toContain("proxy_set_header X-Forwarded-Proto https;");
      expect(edge).not.toContain("listen 443");
    }
  });

  it("opens 80/443 to no one on the VMs (the Load Balancer comes over the Private Network), SSH to the admin networks", async () => {
    const { ofType } = await build("rewrite", several(2));
    const groups = ofType("scaleway:instance/securityGroup:SecurityGroup");
    expect(groups).toHaveLength(2);
    for (const sg of groups) {
      expect(sg.props.inboundDefaultPolicy).toBe("drop");
      expect((sg.props.inboundRules as { port: number; ipRange: string }[]).map((r) => [r.port, r.ipRange])).toEqual([[22, "198.51.100.0/24"]]);
    }
  });

  it("admits every VM, and only them, to the managed database and Redis", async () => {
    const { one } = await build(
      "rewrite",
      several(2, (c) => (c.accessories = [{ name: "cache", type: "redis" }])),
    );
    const rules = await valueOf(one("scaleway:databases/acl:Acl").props.aclRules as pulumi.Input<{ ip: string; description: string }[]>);
    expect(rules).toEqual([
      { ip: "203.0.113.10/32", description: "rewrite host 1" },
      { ip: "203.0.113.11/32", description: "rewrite host 2" },
    ]);
    const redis = one("scaleway:redis/cluster:Cluster");
    expect((await valueOf(redis.props.acls as pulumi.Input<{ ip: string }[]>)).map((r) => r.ip)).toEqual(["203.0.113.10/32", "203.0.113.11/32"]);
  });

  it.each([2, 3])("exports each of the %i VMs' SSH coordinates in servers, reached with the one deploy key, and the Load Balancer's address", async (count) => {
    const { env } = await build("rewrite", several(count));
    const outputs = hostOf(env).outputs;
    const servers = await Promise.all((outputs.servers ?? []).map((s) => valueOf(pulumi.output(s))));
    expect(servers.map((s) => [s.host, s.port, s.user])).toEqual(Array.from({ length: count }, (_, i) => [`203.0.113.${10 + i}`, 22, "deploy"]));
    expect(new Set(servers.map((s) => s.hostKey)).size).toBe(count);
    expect(await valueOf(pulumi.output(outputs.ssh!))).toEqual(servers[0]);
    expect(await valueOf(outputs.host.loadBalancerAddress as pulumi.Input<string>)).toBe("203.0.113.100");
    const keys = await Promise.all(hostOf(env).vms.map(async (vm) => (await valueOf(vm.connection)).privateKey));
    expect(new Set(keys)).toEqual(new Set([await valueOf(outputs.sshPrivateKey!)]));
  });

  it("with one VM, declares no Private Network, no Load Balancer, no servers output, and the edge keeps its certificate", async () => {
    const { env, ofType, declared } = await build("rewrite");
    expect(ofType("scaleway:network/privateNetwork:PrivateNetwork")).toHaveLength(0);
    expect(ofType("scaleway:instance/privateNic:PrivateNic")).toHaveLength(0);
    expect(declared.filter((d) => d.type.startsWith("scaleway:loadbalancers/"))).toEqual([]);
    expect(hostOf(env).outputs.servers).toBeUndefined();
    expect(hostOf(env).outputs.host.loadBalancerAddress).toBeUndefined();
    expect(hostOf(env).terminatesTls).toBe(false);
  });

  it("declares the runbook's two-VM example as it says (docs/runbooks/scaleway-load-balancer.md)", async () => {
    const runbook = readFileSync(join(PROJECT_DIR, "docs", "runbooks", "scaleway-load-balancer.md"), "utf8");
    const example = (parseYaml(/```yaml\n([\s\S]*?)```/.exec(runbook)![1]!) as { config: Record<string, unknown> }).config;
    const input = Object.fromEntries(
      Object.entries(example).flatMap(([key, value]) => (key.startsWith("permacoop:") ? [[key.slice("permacoop:".length), value]] : [])),
    );
    const { ofType, declared } = await build("prod", (c) => {
      for (const key of Object.keys(c)) delete c[key];
      Object.assign(c, input);
    });
    expect(ofType("scaleway:instance/server:Server").map((s) => s.name)).toEqual(["prod-host-server", "prod-host2-server"]);
    expect(ofType("scaleway:loadbalancers/loadBalancer:LoadBalancer").map((lb) => lb.props.type)).toEqual(["LB-S"]);
    for (const name of ["prod-network-pn", "prod-lb-ip", "prod-lb-lb", "prod-lb-backend", "prod-lb-certificate", "prod-lb-https", "prod-lb-http"]) {
      expect(declared.map((d) => d.name)).toContain(name);
      expect(runbook).toContain(`\`${name}\``);
    }
  });
});
