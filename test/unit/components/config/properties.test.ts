import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { ConfigError } from "../../../../components/config/load";
import { looksLikeCredential, SECRET_KEY_PATTERN, StackConfig } from "../../../../components/config/schema";
import { renderEdgeConfig } from "../../../../components/proxy/nginx";
import { renderRolloutScript, rolloutSpec } from "../../../../components/rollout/rollout";
import { hostContract, switchPort } from "../../../../components/runtime/contract";
import { renderRuntimeScript, runtimeSpec } from "../../../../components/runtime/runtime";
import { variable } from "../../../support/hostSpecs";
import { parse } from "../../../support/mocks";
import { nginxTest, shellcheck } from "../../../support/validators";

/**
 * Property tests over the config contract (issue 14): random valid configurations load and
 * render artefacts the real validators accept; random mutations of them are either accepted
 * and render valid artefacts, or refused naming the mutated key; hostile values reach the host
 * scripts as data, never as code; no error message holds a secret.
 */

const STACK = "props";
const KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHc2p5Zb0Q9y8m7x3kVt4Jb9qW1eR6tY2uI8oP0aS4dF ops@example.org";
const SECRETS = { calendarToken: "cal-s3cret-Value-71", sshPrivateKey: "-----BEGIN OPENSSH PRIVATE KEY-----\nk\n-----END OPENSSH PRIVATE KEY-----\n" };
/** The secrets a configuration needs: the deploy key on an ssh host only. */
const secretsFor = (input: { host: unknown }): Record<string, string> =>
  (input.host as { kind?: unknown } | null)?.kind === "ssh" ? SECRETS : { calendarToken: SECRETS.calendarToken };
const PWNED = "PWNED-by-props";

/** Pieces of text a careless or hostile user puts in a value: quotes, expansions, globs, unicode. */
const HOSTILE = ["'", '"', `$(touch ${PWNED})`, `\`touch ${PWNED}\``, "${HOME}", "\\", ";", "|", "&", "*", "?", "[x]", "é", "✓", "\t", " ", "%s", "-n", "#"];
const hostileText = fc.array(fc.constantFrom(...HOSTILE, "a", "1", "_", "-", "/"), { maxLength: 8 }).map((parts) => parts.join(""));
const envKey = fc
  .stringMatching(/^[A-Z][A-Z0-9_]{0,10}$/)
  .filter((key) => !SECRET_KEY_PATTERN.test(key.replace(/_/g, "")) && !key.startsWith("DATABASE_") && key !== "CALENDAR_TOKEN");
const serviceName = fc.stringMatching(/^[a-z][a-z0-9-]{0,12}$/);
const healthPath = fc.constantFrom("/healthz", "/health?x=1&y=$(id)", "/a'b", "/(x)", "/%20;id", "/");

const service = (name: string, i: number) =>
  fc.record({
    name: fc.constant(name),
    image: fc.constantFrom("ghcr.io/fairnesscoop/permacoop:main", "nginx:stable", `registry.example.org:5000/team/app@sha256:${"a".repeat(64)}`),
    port: fc.integer({ min: 1, max: 65535 }),
    route: fc.constant(i === 0 ? "/" : `/${name}/`),
    healthPath,
    env: fc.dictionary(envKey, hostileText, { maxKeys: 3 }),
    release: fc.option(
      hostileText.filter((command) => /\S/.test(command)).map((command) => ({ command })),
      { nil: undefined },
    ),
    replicas: fc.integer({ min: 1, max: 4 }),
  });

const services = fc
  .uniqueArray(serviceName, { minLength: 1, maxLength: 3 })
  .filter((names) => new Set(names.map(switchPort)).size === names.length)
  .chain((names) => fc.tuple(...names.map(service)))
  .map((list) => list.map((s, i) => (i === 0 ? { ...s, secretEnv: { CALENDAR_TOKEN: "calendarToken" } } : s)));

const host = fc.oneof(
  fc.record({ kind: fc.constant("local"), httpPort: fc.constant(8080) }),
  fc.record({ kind: fc.constant("ssh"), address: fc.constantFrom("203.0.113.20", "2001:db8::20"), hostKey: fc.constant(KEY) }),
  fc.record({ kind: fc.constant("scaleway-vm"), adminCidrs: fc.constant(["198.51.100.0/24"]), sshPublicKeys: fc.constant([KEY]) }),
);

const jobCommands = fc.array(
  hostileText.filter((command) => /\S/.test(command)),
  { maxLength: 2 },
);

const validConfig = fc
  .record({
    host,
    services,
    tls: fc.boolean(),
    bodySize: fc.constantFrom("10m", "1g", "0", "512k"),
    zone: fc.constantFrom("example.org", "fairness.coop"),
    jobCommands,
    accessoryValue: hostileText.filter((value) => /^[^\n\r\0]*$/.test(value) && !looksLikeCredential(value)),
  })
  .map(({ host, services, tls, bodySize, zone, jobCommands, accessoryValue }) => ({
    host,
    database: host.kind === "scaleway-vm" ? { kind: "scaleway-managed" } : { kind: "container" },
    dns:
      host.kind === "scaleway-vm"
        ? { provider: "scaleway", zone, hostnames: [`app.${zone}`, `www.${zone}`] }
        : { provider: "none", hostnames: [`app.${zone}`] },
    tls: tls ? { enabled: true, email: "ops@example.org" } : { enabled: false },
    proxy: { clientMaxBodySize: bodySize },
    services,
    jobs: jobCommands.map((command, i) => ({ name: `job-${i}`, service: services[0]!.name, schedule: i ? "@daily" : "*/5 * * * *", command })),
    accessories: [
      { name: "files", type: "s3", bucket: "files-bucket" },
      { name: "cache", type: "redis" },
      {
        name: "search",
        type: "generic",
        image: "getmeili/meilisearch:v1.10",
        port: 7700,
        dataPath: "/meili_data",
        env: { GREETING: accessoryValue },
        passwordEnv: "MEILI_MASTER_KEY",
      },
    ],
  }));

/** Every host artefact of a loaded configuration. */
function render(config: StackConfig): { edge: string; scripts: string[] } {
  const contract = hostContract(STACK);
  const publish = { bindAddress: "0.0.0.0", httpPort: 80, httpsPort: 443 };
  const edge = renderEdgeConfig({
    hostnames: config.dns.hostnames,
    tls: false,
    // The switch's name resolves on the environment's network only: nginx -t here resolves loopback.
    switchHost: "127.0.0.1",
    routes: config.services.map((s) => ({ service: s.name, prefix: s.route, switchPort: switchPort(s.name) })),
    clientMaxBodySize: config.proxy.clientMaxBodySize,
    httpsPort: publish.httpsPort,
  });
  const scripts = [
    renderRuntimeScript(runtimeSpec(config, contract, publish)),
    ...config.services.map((s) => renderRolloutScript(rolloutSpec(s, contract, s.image, switchPort(s.name), config.database.kind))),
  ];
  return { edge, scripts };
}

/** The spec header of each script, run: every value arrives as it was written, and nothing runs. */
function expectValuesAsData(config: StackConfig, scripts: string[]): void {
  const dir = mkdtempSync(join(tmpdir(), "props-"));
  const cwd = process.cwd();
  try {
    process.chdir(dir);
    config.services.forEach((s, i) => {
      const script = scripts[i + 1]!;
      expect(variable(script, "HEALTH_PATH")).toBe(s.healthPath);
      expect(variable(script, "RELEASE_COMMAND")).toBe(s.release?.command ?? "");
      expect(variable(script, "REPLICAS")).toBe(String(s.replicas));
    });
    expect(variable(scripts[0]!, "JOBS")).toBe(config.jobs.map((j) => [j.name, j.service, j.timeoutSeconds, j.schedule, j.command].join("\t")).join("\n"));
    // Scaleway hosts run s3 and redis themselves: the runtime carries the others, each field as written.
    const inContainers = config.accessories.filter((a) => a.type === "generic" || !config.host.kind.startsWith("scaleway-"));
    expect(variable(scripts[0]!, "ACCESSORIES")).toBe(
      inContainers
        .map((a) =>
          [
            a.name,
            a.type,
            a.image,
            a.type === "generic" ? a.port : a.type === "s3" ? 9000 : 6379,
            a.type === "generic" ? a.dataPath : "-",
            a.type === "s3" ? a.bucket : "-",
          ].join("\t"),
        )
        .join("\n"),
    );
    expect(variable(scripts[0]!, "SERVICE_PROBES")).toBe(config.services.map((s) => `${s.name}=${s.port}${s.healthPath}`).join(" "));
    expect(existsSync(join(dir, PWNED))).toBe(false);
  } finally {
    process.chdir(cwd);
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("the config contract, property by property", () => {
  it("random valid configurations load, and render what nginx -t and shellcheck accept, hostile values as data", () => {
    fc.assert(
      fc.property(validConfig, (input) => {
        const config = parse(input, secretsFor(input), STACK);
        const { edge, scripts } = render(config);
        const nginx = nginxTest(edge);
        expect(nginx.output).not.toMatch(/emerg|\[error\]/);
        expect(nginx.ok).toBe(true);
        for (const script of scripts) expect(shellcheck(script).output).toBe("");
        expectValuesAsData(config, scripts);
      }),
      { numRuns: 6 },
    );
  }, 120_000); // shellcheck and nginx -t per run: slow on a busy machine

  // A mutation: a leaf of a valid configuration set to a careless or hostile value.
  const LEAVES: (string | number)[][] = [
    ["host", "kind"],
    ["host", "httpPort"],
    ["dns", "hostnames", 0],
    ["dns", "provider"],
    ["tls", "enabled"],
    ["tls", "email"],
    ["proxy", "clientMaxBodySize"],
    ["services", 0, "name"],
    ["services", 0, "image"],
    ["services", 0, "port"],
    ["services", 0, "route"],
    ["services", 0, "healthPath"],
    ["services", 0, "env", "GREETING"],
    ["services", 0, "env", "SESSION_SECRET"],
    ["services", 0, "secretEnv", "CALENDAR_TOKEN"],
    ["services", 0, "healthCheck", "deadlineSeconds"],
    ["services", 0, "release", "command"],
    ["services", 0, "build", "context"],
    ["services", 0, "replicas"],
    ["jobs", 0, "schedule"],
    ["jobs", 0, "command"],
    ["accessories", 0, "name"],
    ["accessories", 1, "envPrefix"],
    ["accessories", 2, "dataPath"],
    ["accessories", 2, "env", "GREETING"],
  ];
  const mutant = fc.oneof(
    hostileText,
    fc.constantFrom(
      "",
      " ",
      "\n",
      "a\nb",
      "a\0b",
      "../..",
      "/../",
      "UPPER/Case",
      "x".repeat(300),
      SECRETS.calendarToken,
      "ghp_0123456789abcdefghijABCDEFGHIJ0123",
    ),
    fc.integer({ min: -2, max: 70000 }),
    fc.double({ noNaN: true, min: -1, max: 100 }),
    fc.boolean(),
    fc.constant(null),
    fc.constant({ nested: "object" }),
  );

  function setAt(target: Record<string, unknown>, path: (string | number)[], value: unknown): void {
    let node = target as Record<string | number, unknown>;
    for (const part of path.slice(0, -1)) {
      if (typeof node[part] !== "object" || node[part] === null) node[part] = typeof path[path.indexOf(part) + 1] === "number" ? [] : {};
      node = node[part] as Record<string | number, unknown>;
    }
    node[path[path.length - 1]!] = value;
  }

  /** `permacoop:services[0].env.GREETING` from a path. */
  const keyOf = (path: (string | number)[]) => `permacoop:${path.map((p, i) => (typeof p === "number" ? `[${p}]` : i === 0 ? p : `.${p}`)).join("")}`;
  const related = (problemKey: string, mutated: string) => problemKey === mutated || mutated.startsWith(problemKey) || problemKey.startsWith(mutated);

  it("random mutations are refused naming the mutated key (or the key its cross-key rule names), or render valid artefacts", () => {
    // Cross-key rules a mutation can trip elsewhere: the key each names.
    const crossKey =
      /^permacoop:(tls\.(enabled|email)|dns\.(zone|provider|hostnames\[\d+\])|database\.kind|host\.(address|httpsPort)|services\[\d+\]\.(name|route|secretEnv\.\w+|healthCheck\.\w+|build)|jobs\[\d+\]\.service|accessories\[\d+\]\.(name|envPrefix)|calendarToken)$/;
    fc.assert(
      fc.property(validConfig, fc.constantFrom(...LEAVES), mutant, (input, path, value) => {
        const mutated = structuredClone(input) as Record<string, unknown>;
        setAt(mutated, path, value);
        let config: StackConfig;
        try {
          config = parse(mutated, secretsFor(input), STACK);
        } catch (error) {
          if (!(error instanceof ConfigError)) throw error;
          const keys = error.problems.map((p) => p.key);
          expect(keys.some((key) => related(key, keyOf(path)) || crossKey.test(key))).toBe(true);
          for (const problem of error.problems) expect(problem.fix).toMatch(/^pulumi config (set|rm)/);
          for (const secret of [SECRETS.calendarToken, "ghp_0123456789abcdefghij", "BEGIN OPENSSH"]) expect(error.message).not.toContain(secret);
          return;
        }
        const { edge, scripts } = render(config);
        expect(nginxTest(edge).ok).toBe(true);
        expectValuesAsData(config, scripts);
      }),
      { numRuns: 150 },
    );
  });

  /** The words of a shell command line (single and double quotes, no expansions), up to a comment. */
  function words(line: string): string[] {
    const out: string[] = [];
    const re = /\s*(?:'([^']*)'|"((?:[^"\\]|\\.)*)"|(#.*)|([^\s'"]+))/gy;
    for (let m = re.exec(line); m && m[0].trim() !== ""; m = re.exec(line)) {
      if (m[3] !== undefined) break;
      out.push(m[1] ?? m[2]?.replace(/\\(.)/g, "$1") ?? m[4]!);
    }
    return out;
  }

  /** `pulumi config set|rm …` applied to a structured config the way the CLI stores it (`--path` types numbers and booleans). */
  function applyFix(config: Record<string, unknown>, secrets: Record<string, string>, fix: string): "applied" | "not pasteable" {
    if (/<[^>]+>/.test(fix.replace(/#.*$/, ""))) return "not pasteable";
    for (const command of fix.replace(/#.*$/, "").split("&&")) {
      const [pulumiWord, configWord, verb, ...rest] = words(command);
      if (pulumiWord !== "pulumi" || configWord !== "config" || (verb !== "set" && verb !== "rm")) return "not pasteable";
      const flags = rest.filter((w) => w.startsWith("--"));
      const [key, value] = rest.filter((w) => !w.startsWith("--"));
      if (!key?.startsWith("permacoop:")) return "not pasteable";
      const path = key
        .slice("permacoop:".length)
        .split(/\.|\[(\d+)\]/)
        .filter((p) => p !== undefined && p !== "")
        .map((p) => (/^\d+$/.test(p) ? Number(p) : p));
      if (flags.includes("--secret")) {
        secrets[String(path[0])] = "a-pasted-secret-value";
        delete config[String(path[0])];
        continue;
      }
      if (verb === "rm") {
        let node = config as Record<string | number, unknown>;
        for (const part of path.slice(0, -1)) node = (node?.[part] ?? {}) as Record<string | number, unknown>;
        if (Array.isArray(node)) node.splice(Number(path[path.length - 1]), 1);
        else if (node) delete node[path[path.length - 1]!];
        if (path.length === 1) delete secrets[String(path[0])];
        continue;
      }
      if (value === undefined) return "not pasteable";
      const typed = flags.includes("--path") ? (/^-?\d+$/.test(value) ? Number(value) : value === "true" ? true : value === "false" ? false : value) : value;
      if (flags.includes("--path")) setAt(config, path, typed);
      else
        config[String(path[0])] = (() => {
          try {
            return JSON.parse(value) as unknown;
          } catch {
            return value;
          }
        })();
    }
    return "applied";
  }

  it("every fix works when pasted: applied as the CLI would, its key's problem is gone", () => {
    const unpasteable = new Set<string>();
    fc.assert(
      fc.property(validConfig, fc.constantFrom(...LEAVES), mutant, (input, path, value) => {
        const mutated = structuredClone(input) as Record<string, unknown>;
        setAt(mutated, path, value);
        const secrets = secretsFor(input);
        let error: ConfigError;
        try {
          parse(mutated, secrets, STACK);
          return;
        } catch (e) {
          if (!(e instanceof ConfigError)) throw e;
          error = e;
        }
        for (const problem of error.problems) {
          const fixed = structuredClone(mutated);
          const fixedSecrets = { ...secrets };
          if (applyFix(fixed, fixedSecrets, problem.fix) === "not pasteable") {
            unpasteable.add(`${problem.key.replace(/\[\d+\]/g, "[]")}: ${problem.fix}`);
            continue;
          }
          let remaining: string[] = [];
          try {
            parse(fixed, fixedSecrets, STACK);
          } catch (e) {
            if (!(e instanceof ConfigError)) throw e;
            remaining = e.problems.map((p) => p.key);
          }
          expect({ key: problem.key, fix: problem.fix, still: remaining.includes(problem.key) }).toEqual({ key: problem.key, fix: problem.fix, still: false });
        }
      }),
      { numRuns: 300 },
    );
    // Only where the fix needs what the user alone knows: a registry of theirs, a server's address.
    expect([...unpasteable].filter((line) => !/^permacoop:(services\[\]\.build|host\.address): /.test(line))).toEqual([]);
  });
});
