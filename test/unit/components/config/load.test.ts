import { ConfigError, parseStackConfig } from "../../../../components/config/load";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse as parseYaml } from "yaml";
import { parse, rawConfig, validConfigInput } from "../../../support/mocks";
import { PROJECT_DIR } from "../../../support/stackFiles";
import { serverlessConfigInput } from "../../../support/serverlessStack";

const SSH_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHc2p5Zb0Q9y8m7x3kVt4Jb9qW1eR6tY2uI8oP0aS4dF";

type Mutable = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function problemsOf(mutate: (config: Mutable) => void, secrets: Record<string, string> = { calendarToken: "s3cret" }): ConfigError {
  const config = validConfigInput() as Mutable;
  mutate(config);
  try {
    parse(config, secrets);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error("expected the configuration to be rejected");
}

describe("config contract", () => {
  it("accepts a valid configuration and fills the documented defaults", () => {
    const config = parse(validConfigInput());
    expect(config.host).toMatchObject({ zone: "fr-par-1", type: "DEV1-S", image: "debian_bookworm", rootVolumeGb: 20, ipv6: false, deployUser: "deploy" });
    expect(config.database).toMatchObject({ engine: "PostgreSQL-16", backupRetentionDays: 7, backupFrequencyHours: 24, name: "permacoop", user: "permacoop" });
    expect(config.database.protect).toBeUndefined();
    expect(config.services[0]).toMatchObject({
      route: "/",
      healthPath: "/healthz",
      healthCheck: { intervalSeconds: 1, timeoutSeconds: 5, deadlineSeconds: 30 },
    });
    expect(config.proxy.clientMaxBodySize).toBe("10m");
    expect(config.dns.ttl).toBe(300);
  });

  it("accepts Permacoop's three routes as docs/routes.md writes them (the kit client's prefix stripped)", () => {
    const doc = readFileSync(join(PROJECT_DIR, "docs", "routes.md"), "utf8");
    const example = parseYaml(/```yaml\n([\s\S]*?)```/.exec(doc)![1]!) as Record<string, unknown>;
    const config = validConfigInput() as Mutable;
    config.services = example["permacoop:services"];
    const parsed = parse(config, { calendarToken: "s3cret", sessionSecret: "s3cret-too" });
    expect(parsed.services.map((s) => [s.route, s.stripPrefix])).toEqual([
      ["/", false],
      ["/kit/", true],
      ["/api/", false],
    ]);
  });

  // Each malformed config: what is wrong, and the key the error must name.
  const malformed: [string, (c: Mutable) => void, string][] = [
    ["host missing", (c) => delete c.host, "permacoop:host"],
    ["unknown host kind", (c) => (c.host.kind = "ec2"), "permacoop:host.kind"],
    ["admin CIDR without prefix", (c) => (c.host.adminCidrs = ["1.2.3.4"]), "permacoop:host.adminCidrs[0]"],
    ["no admin CIDR", (c) => (c.host.adminCidrs = []), "permacoop:host.adminCidrs"],
    ["SSH key that is not a public key", (c) => (c.host.sshPublicKeys = ["-----BEGIN OPENSSH PRIVATE KEY-----"]), "permacoop:host.sshPublicKeys[0]"],
    ["root volume too small", (c) => (c.host.rootVolumeGb = 1), "permacoop:host.rootVolumeGb"],
    ["misspelt host key", (c) => (c.host.adminCidr = ["1.2.3.4/32"]), "permacoop:host.adminCidr"],
    ["bad zone", (c) => (c.host.zone = "paris"), "permacoop:host.zone"],
    ["unsupported engine", (c) => (c.database.engine = "MySQL-8"), "permacoop:database.engine"],
    ["negative backup retention", (c) => (c.database.backupRetentionDays = -1), "permacoop:database.backupRetentionDays"],
    ["protect as a string", (c) => (c.database.protect = "yes"), "permacoop:database.protect"],
    ["hostname outside the zone", (c) => (c.dns.hostnames = ["app.other.org"]), "permacoop:dns.hostnames[0]"],
    ["scaleway DNS without zone", (c) => delete c.dns.zone, "permacoop:dns.zone"],
    ["unknown DNS provider", (c) => (c.dns.provider = "gandi"), "permacoop:dns.provider"],
    ["TLS without e-mail", (c) => delete c.tls.email, "permacoop:tls.email"],
    ["invalid ACME URL", (c) => (c.tls.acmeDirectory = "letsencrypt"), "permacoop:tls.acmeDirectory"],
    ["no service", (c) => (c.services = []), "permacoop:services"],
    ["port out of range", (c) => (c.services[0].port = 70000), "permacoop:services[0].port"],
    ["route without slashes", (c) => (c.services[0].route = "api"), "permacoop:services[0].route"],
    ["duplicate service", (c) => c.services.push({ ...c.services[0], route: "/api/" }), "permacoop:services[1].name"],
    ["duplicate route", (c) => c.services.push({ ...c.services[0], name: "api" }), "permacoop:services[1].route"],
    ["secret in plain env", (c) => (c.services[0].env.SESSION_SECRET = "hunter2"), "permacoop:services[0].env.SESSION_SECRET"],
    ["DATABASE_* set by hand", (c) => (c.services[0].env.DATABASE_HOST = "db"), "permacoop:services[0].env.DATABASE_HOST"],
    ["lower-case env name", (c) => (c.services[0].env = { nodeEnv: "x" }), "permacoop:services[0].env.nodeEnv"],
    ["body size not an nginx size", (c) => (c.proxy = { clientMaxBodySize: "ten megs" }), "permacoop:proxy.clientMaxBodySize"],
    ["zero health deadline", (c) => (c.services[0].healthCheck = { deadlineSeconds: 0 }), "permacoop:services[0].healthCheck.deadlineSeconds"],
    ["host given as a string", (c) => (c.host = "my-vm"), "permacoop:host"],
    // Accepted once, failing later or misbehaving (issue 14): each refused up front.
    ["duplicate hostname", (c) => c.dns.hostnames.push("app.example.org"), "permacoop:dns.hostnames[1]"],
    ["route with a .. segment", (c) => (c.services[0].route = "/api/../admin/"), "permacoop:services[0].route"],
    ["route with a . segment", (c) => (c.services[0].route = "/./"), "permacoop:services[0].route"],
    ["upper-case repository", (c) => (c.services[0].image = "ghcr.io/Org/App:main"), "permacoop:services[0].image"],
    ["empty tag", (c) => (c.services[0].image = "ghcr.io/org/app:"), "permacoop:services[0].image"],
    ["upper-case first path part", (c) => (c.services[0].image = "MyOrg/app"), "permacoop:services[0].image"],
    ["env value with a newline", (c) => (c.services[0].env.GREETING = "hello\nworld"), "permacoop:services[0].env.GREETING"],
    ["env value with a carriage return", (c) => (c.services[0].env.GREETING = "hello\r"), "permacoop:services[0].env.GREETING"],
    ["release command with a NUL", (c) => (c.services[0].release = { command: "make\u0000migrate" }), "permacoop:services[0].release.command"],
    ["release command with a carriage return", (c) => (c.services[0].release = { command: "make\rmigrate" }), "permacoop:services[0].release.command"],
    ["env value with a NUL", (c) => (c.services[0].env.GREETING = "a\u0000b"), "permacoop:services[0].env.GREETING"],
    ["a token in env under an innocent name", (c) => (c.services[0].env.GH = "ghp_0123456789abcdefghijABCDEFGHIJ0123"), "permacoop:services[0].env.GH"],
    ["a private key in env", (c) => (c.services[0].env.DEPLOY_KEY = "-----BEGIN OPENSSH PRIVATE KEY-----"), "permacoop:services[0].env.DEPLOY_KEY"],
    ["secretEnv named DATABASE_*", (c) => (c.services[0].secretEnv.DATABASE_PASSWORD = "calendarToken"), "permacoop:services[0].secretEnv.DATABASE_PASSWORD"],
    ["secretEnv also in env", (c) => (c.services[0].secretEnv.NODE_ENV = "calendarToken"), "permacoop:services[0].secretEnv.NODE_ENV"],
    ["read timeout of zero", (c) => (c.services[0].readTimeoutSeconds = 0), "permacoop:services[0].readTimeoutSeconds"],
    ["read timeout above an hour", (c) => (c.services[0].readTimeoutSeconds = 7200), "permacoop:services[0].readTimeoutSeconds"],
    ["service body size nginx overflows", (c) => (c.services[0].clientMaxBodySize = "99999999999g"), "permacoop:services[0].clientMaxBodySize"],
    ["stripPrefix on route /", (c) => (c.services[0].stripPrefix = true), "permacoop:services[0].stripPrefix"],
    ["stripPrefix not a boolean", (c) => ((c.services[0].route = "/kit/"), (c.services[0].stripPrefix = "yes")), "permacoop:services[0].stripPrefix"],
    [
      "job with a 4-field schedule",
      (c) => (c.jobs = [{ name: "report", service: c.services[0].name, schedule: "0 3 * *", command: "make report" }]),
      "permacoop:jobs[0].schedule",
    ],
    [
      "job with @reboot",
      (c) => (c.jobs = [{ name: "report", service: c.services[0].name, schedule: "@reboot", command: "make report" }]),
      "permacoop:jobs[0].schedule",
    ],
    [
      "job of an unknown service",
      (c) => (c.jobs = [{ name: "report", service: "worker", schedule: "0 3 * * *", command: "make report" }]),
      "permacoop:jobs[0].service",
    ],
    [
      "two jobs of one name",
      (c) => (c.jobs = [0, 1].map(() => ({ name: "report", service: c.services[0].name, schedule: "@daily", command: "make report" }))),
      "permacoop:jobs[1].name",
    ],
    [
      "job command on two lines",
      (c) => (c.jobs = [{ name: "report", service: c.services[0].name, schedule: "@daily", command: "make\nreport" }]),
      "permacoop:jobs[0].command",
    ],
    [
      "job deadline under 10 s",
      (c) => (c.jobs = [{ name: "report", service: c.services[0].name, schedule: "@daily", command: "x", timeoutSeconds: 1 }]),
      "permacoop:jobs[0].timeoutSeconds",
    ],
    [
      "an accessory data path with a .. segment",
      (c) => (c.accessories = [{ name: "search", type: "generic", image: "getmeili/meilisearch:v1.10", port: 7700, dataPath: "/../" }]),
      "permacoop:accessories[0].dataPath",
    ],
    [
      "an accessory data path of /",
      (c) => (c.accessories = [{ name: "search", type: "generic", image: "getmeili/meilisearch:v1.10", port: 7700, dataPath: "/" }]),
      "permacoop:accessories[0].dataPath",
    ],
    [
      "a generic accessory on scaleway-container",
      (c) =>
        Object.assign(c, serverlessConfigInput(), {
          accessories: [{ name: "search", type: "generic", image: "getmeili/meilisearch:v1.10", port: 7700, dataPath: "/data" }],
        }),
      "permacoop:accessories[0].type",
    ],
    [
      "two accessories of one name",
      (c) =>
        (c.accessories = [
          { name: "cache", type: "redis" },
          { name: "cache", type: "s3" },
        ]),
      "permacoop:accessories[1].name",
    ],
    ["an accessory of an unknown type", (c) => (c.accessories = [{ name: "cache", type: "memcached" }]), "permacoop:accessories[0].type"],
    ["an accessory name too short for a bucket", (c) => (c.accessories = [{ name: "ab", type: "s3" }]), "permacoop:accessories[0].name"],
    [
      "two redis accessories on one prefix",
      (c) =>
        (c.accessories = [
          { name: "cache", type: "redis" },
          { name: "queue", type: "redis" },
        ]),
      "permacoop:accessories[1].envPrefix",
    ],
    [
      "an accessory prefix of DATABASE",
      (c) => (c.accessories = [{ name: "cache", type: "redis", envPrefix: "DATABASE" }]),
      "permacoop:accessories[0].envPrefix",
    ],
    [
      "a service setting an accessory's variable",
      (c) => ((c.accessories = [{ name: "cache", type: "redis" }]), (c.services[0].env.REDIS_URL = "redis://x")),
      "permacoop:services[0].env.REDIS_URL",
    ],
    [
      "a generic accessory without its data path",
      (c) => (c.accessories = [{ name: "search", type: "generic", image: "getmeili/meilisearch:v1.10", port: 7700 }]),
      "permacoop:accessories[0].dataPath",
    ],
    [
      "a token in a generic accessory's env",
      (c) =>
        (c.accessories = [
          {
            name: "search",
            type: "generic",
            image: "getmeili/meilisearch:v1.10",
            port: 7700,
            dataPath: "/data",
            env: { MEILI_MASTER_KEY: "ghp_0123456789abcdefghijABCDEFGHIJ0123" },
          },
        ]),
      "permacoop:accessories[0].env.MEILI_MASTER_KEY",
    ],
    ["health timeout above the deadline", (c) => (c.services[0].healthCheck = { timeoutSeconds: 40 }), "permacoop:services[0].healthCheck.timeoutSeconds"],
    [
      "health interval above the deadline",
      (c) => (c.services[0].healthCheck = { intervalSeconds: 10, deadlineSeconds: 5 }),
      "permacoop:services[0].healthCheck.intervalSeconds",
    ],
    ["fractional health deadline", (c) => (c.services[0].healthCheck = { deadlineSeconds: 12.5 }), "permacoop:services[0].healthCheck.deadlineSeconds"],
    ["health path curl would glob", (c) => (c.services[0].healthPath = "/health[1-3]"), "permacoop:services[0].healthPath"],
    ["health path with a space", (c) => (c.services[0].healthPath = "/$(touch /tmp/x)"), "permacoop:services[0].healthPath"],
    ["body size nginx overflows", (c) => (c.proxy = { clientMaxBodySize: "99999999999g" }), "permacoop:proxy.clientMaxBodySize"],
    ["ACME directory over http", (c) => (c.tls.acmeDirectory = "http://acme.example.org/directory"), "permacoop:tls.acmeDirectory"],
    [
      "TLS on localhost",
      (c) => ((c.host = { kind: "local" }), (c.database = { kind: "container" }), (c.dns = { provider: "none", hostnames: ["localhost"] })),
      "permacoop:tls.enabled",
    ],
    [
      "HTTPS port equal to the HTTP port",
      (c) => ((c.host = { kind: "local", httpPort: 8080, httpsPort: 8080 }), (c.database = { kind: "container" })),
      "permacoop:host.httpsPort",
    ],
    ["build context outside the project", (c) => (c.services[0].build = { context: "../elsewhere" }), "permacoop:services[0].build.context"],
    ["absolute build context", (c) => (c.services[0].build = { context: "/etc" }), "permacoop:services[0].build.context"],
    [
      "SSH key whose blob is not a key",
      (c) => (c.host.sshPublicKeys = ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOps ops@example.org"]),
      "permacoop:host.sshPublicKeys[0]",
    ],
    [
      "SSH key whose blob names another type",
      (c) => (c.host.sshPublicKeys = ["ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAIHc2p5Zb0Q9y8m7x3kVt4Jb9qW1eR6tY2uI8oP0aS4dF"]),
      "permacoop:host.sshPublicKeys[0]",
    ],
    [
      "ssh host by name with records to create",
      (c) => (
        (c.host = { kind: "ssh", address: "server.example.org", hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHc2p5Zb0Q9y8m7x3kVt4Jb9qW1eR6tY2uI8oP0aS4dF" }),
        (c.database = { kind: "container" })
      ),
      "permacoop:host.address",
    ],
    [
      "ssh host with both one address and several hosts",
      (c) => (
        (c.host = { kind: "ssh", address: "203.0.113.20", hostKey: SSH_KEY, hosts: [{ address: "203.0.113.21", hostKey: SSH_KEY }] }),
        (c.database = { kind: "container" })
      ),
      "permacoop:host.address",
    ],
    [
      "ssh host with neither an address nor hosts",
      (c) => ((c.host = { kind: "ssh", hostKey: SSH_KEY }), (c.database = { kind: "container" })),
      "permacoop:host.address",
    ],
    [
      "the same server listed twice",
      (c) => (
        (c.host = {
          kind: "ssh",
          hosts: [
            { address: "10.0.0.11", hostKey: SSH_KEY },
            { address: "10.0.0.11", hostKey: SSH_KEY },
          ],
          loadBalancerAddress: "203.0.113.10",
        }),
        (c.database = { kind: "external", host: "10.0.0.5" })
      ),
      "permacoop:host.hosts[1].address",
    ],
    [
      "several ssh servers with a container database",
      (c) => (
        (c.host = {
          kind: "ssh",
          hosts: [
            { address: "10.0.0.11", hostKey: SSH_KEY },
            { address: "10.0.0.12", hostKey: SSH_KEY },
          ],
          loadBalancerAddress: "203.0.113.10",
        }),
        (c.database = { kind: "container" })
      ),
      "permacoop:database.kind",
    ],
    [
      "several ssh servers with DNS records and no load balancer (DNS round robin)",
      (c) => (
        (c.host = {
          kind: "ssh",
          hosts: [
            { address: "10.0.0.11", hostKey: SSH_KEY },
            { address: "10.0.0.12", hostKey: SSH_KEY },
          ],
        }),
        (c.database = { kind: "external", host: "10.0.0.5" })
      ),
      "permacoop:host.loadBalancerAddress",
    ],
    ["several VMs with a container database", (c) => ((c.host.count = 2), (c.database = { kind: "container", protect: false })), "permacoop:database.kind"],
    [
      "several VMs with a container accessory",
      (c) => ((c.host.count = 3), (c.accessories = [{ name: "files", type: "generic", image: "example/files:1", port: 9000, dataPath: "/data" }])),
      "permacoop:accessories[0].type",
    ],
    [
      "several servers by name with TLS (their edges ask each other for ACME challenges by address)",
      (c) => (
        (c.host = {
          kind: "ssh",
          hosts: [
            { address: "10.0.0.11", hostKey: SSH_KEY },
            { address: "app2.example.org", hostKey: SSH_KEY },
          ],
          loadBalancerAddress: "203.0.113.10",
        }),
        (c.database = { kind: "external", host: "10.0.0.5" })
      ),
      "permacoop:host.hosts[1].address",
    ],
    [
      "several VMs whose health path the Load Balancer cannot reach through the edge",
      (c) => ((c.host.count = 2), (c.services = [{ name: "api", image: "ghcr.io/example/api:1", port: 4000, route: "/api/", healthPath: "/healthz" }])),
      "permacoop:services[0].healthPath",
    ],
    ["an external database on a scaleway-vm", (c) => (c.database = { kind: "external", host: "10.0.0.5" }), "permacoop:database.kind"],
  ];

  it.each(malformed.map(([what, mutate, key]) => [what, key, mutate] as const))("rejects %s, naming %s", (_what, key, mutate) => {
    const error = problemsOf(mutate);
    expect(error.problems.map((p) => p.key)).toContain(key);
    const problem = error.problems.find((p) => p.key === key)!;
    expect(problem.expected).not.toBe("");
    expect(problem.fix).toMatch(/^pulumi config (set|rm)/);
    expect(error.message).toContain(key);
    expect(error.message).toContain("nothing was changed");
  });

  it.each(malformed.map(([what, mutate]) => [what, mutate] as const))("never echoes a secret while refusing %s", (_what, mutate) => {
    const error = problemsOf(mutate, {
      calendarToken: "s3cret-calendar-value",
      sshPrivateKey: "-----BEGIN OPENSSH PRIVATE KEY-----\nk\n-----END OPENSSH PRIVATE KEY-----\n",
    });
    for (const secret of ["s3cret-calendar-value", "ghp_0123456789abcdefghijABCDEFGHIJ0123", "BEGIN OPENSSH PRIVATE KEY"])
      expect(error.message).not.toContain(secret);
  });

  it("never echoes a value in the wrong place: a secret's value as a key name, a token in plain env", () => {
    const error = problemsOf(
      (c) => {
        c.services[0].secretEnv.CALENDAR_TOKEN = "s3cret-calendar-value"; // the value where its key's name belongs
        c.services[0].env.API = "xoxb-1234567890-abcdefghij";
        c.services[0].env.GREETING = "s3cret-calendar-value plus";
      },
      { calendarToken: "s3cret-calendar-value" },
    );
    expect(error.problems.map((p) => p.key)).toEqual(
      expect.arrayContaining(["permacoop:services[0].secretEnv.CALENDAR_TOKEN", "permacoop:services[0].env.API"]),
    );
    expect(error.message).not.toContain("s3cret-calendar-value");
    expect(error.message).not.toContain("xoxb-1234567890");
    expect(error.message).toContain("not shown");
  });

  it("has at least 15 distinct malformed cases", () => {
    expect(new Set(malformed.map(([, , key]) => key)).size).toBeGreaterThanOrEqual(15);
  });

  it("reports every problem at once, in one message", () => {
    const error = problemsOf((c) => {
      c.host.adminCidrs = ["nope"];
      c.database.backupRetentionDays = 0;
      c.services[0].port = 0;
    });
    expect(error.problems.map((p) => p.key)).toEqual(
      expect.arrayContaining(["permacoop:host.adminCidrs[0]", "permacoop:database.backupRetentionDays", "permacoop:services[0].port"]),
    );
    expect(error.message).toMatch(/\(3 problems\)/);
    expect(error.message).toContain('found "nope"');
    expect(error.message).toContain("fix: pulumi config set --path 'permacoop:host.adminCidrs[0]' 203.0.113.7/32");
  });

  it("proposes fixes from the stack's own values: a hostname in the stack's zone", () => {
    const error = problemsOf((c) => {
      c.dns.zone = "fairness.coop";
      c.dns.hostnames = ["permacoop.fairness.coop", "staging.example.org"];
    });
    expect(error.problems.find((p) => p.key === "permacoop:dns.hostnames[1]")?.fix).toBe(
      "pulumi config set --path 'permacoop:dns.hostnames[1]' staging.fairness.coop",
    );
  });

  it("rejects a plaintext secret with the exact --secret command, without echoing it", () => {
    const { raw } = rawConfig(validConfigInput() as Mutable, { calendarToken: "plain-token-value" });
    const error = (() => {
      try {
        parseStackConfig("prod", raw, new Set());
      } catch (e) {
        return e as ConfigError;
      }
      throw new Error("expected a rejection");
    })();
    expect(error.problems).toHaveLength(1);
    expect(error.problems[0]!.key).toBe("permacoop:calendarToken");
    expect(error.problems[0]!.fix).toContain("pulumi config set --secret permacoop:calendarToken");
    expect(error.message).not.toContain("plain-token-value");
  });

  it.each(["sessionSecret", "sshPrivateKey", "adminPassword"])("rejects plaintext %s even when nothing references it", (key) => {
    const { raw, secretKeys } = rawConfig(validConfigInput() as Mutable, { calendarToken: "t" });
    raw[`permacoop:${key}`] = "plain";
    expect(() => parseStackConfig("prod", raw, secretKeys)).toThrow(`pulumi config set --secret permacoop:${key}`);
  });

  it("refuses the deploy key on a host kind that does not use it, and never proposes it to a service", () => {
    const error = problemsOf(() => undefined, { calendarToken: "t", sshPrivateKey: "-----BEGIN OPENSSH PRIVATE KEY-----" });
    expect(error.problems).toEqual([
      {
        key: "permacoop:sshPrivateKey",
        expected: 'no sshPrivateKey on host.kind "scaleway-vm" (only host.kind "ssh" uses it)',
        found: "a secret nothing uses",
        fix: "pulumi config rm permacoop:sshPrivateKey",
      },
    ]);
  });

  it("rejects a secretEnv reference to a key that is not set", () => {
    const error = problemsOf(() => undefined, {});
    expect(error.problems.map((p) => p.key)).toEqual(["permacoop:calendarToken"]);
    expect(error.problems[0]!.fix).toContain("--secret");
  });

  describe("a container database on a Scaleway VM (ephemeral review data)", () => {
    const onVm = (protect?: boolean) => {
      const config = validConfigInput() as Mutable;
      config.database = { kind: "container", ...(protect === undefined ? {} : { protect }) };
      return config;
    };

    it("is accepted when the data is not protected", () => {
      expect(parse(onVm(), undefined, "review-pr-7").database.kind).toBe("container");
    });

    it.each([
      ["on prod, protected by default", undefined, "prod"],
      ["when protect is true", true, "staging"],
    ])("is refused %s, with the two ways out", (_what, protect, stack) => {
      expect(() => parse(onVm(protect), undefined, stack)).toThrow(ConfigError);
      try {
        parse(onVm(protect), undefined, stack);
      } catch (error) {
        const problem = (error as ConfigError).problems.find((p) => p.key === "permacoop:database.kind")!;
        expect(problem.expected).toContain("dies with the VM");
        expect(problem.fix).toContain("database.kind' scaleway-managed");
        expect(problem.fix).toContain("database.protect' false");
      }
    });
  });

  it("ignores other namespaces (provider config)", () => {
    const { raw, secretKeys } = rawConfig(validConfigInput() as Mutable, { calendarToken: "t" });
    raw["scaleway:region"] = "fr-par";
    expect(() => parseStackConfig("prod", raw, secretKeys)).not.toThrow();
  });
});
