import { ConfigError, parseStackConfig } from "../../../../components/config/load";
import { parse, rawConfig, validConfigInput } from "../../../support/mocks";

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
