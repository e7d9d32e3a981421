import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { checkStackRules } from "./rules";
import { looksLikeCredential, NAMESPACE, PROGRAM_SECRETS, SECRET_KEY_PATTERN, STRUCTURED_KEYS, StackConfig, stackConfigSchema } from "./schema";

/** One problem found in a stack's configuration, with everything needed to fix it. */
export interface ConfigProblem {
  /** Full key path, e.g. `permacoop:host.adminCidrs[0]`. */
  readonly key: string;
  /** What the contract expects there. */
  readonly expected: string;
  /** What the stack holds there (secrets are never echoed). */
  readonly found: string;
  /** A command that fixes it. */
  readonly fix: string;
}

/**
 * The whole list of problems of a stack's configuration, as ONE error. A RunError: Pulumi
 * prints its message alone, without a stack trace or a dump of the object.
 */
export class ConfigError extends pulumi.RunError {
  constructor(
    readonly stackName: string,
    readonly problems: readonly ConfigProblem[],
  ) {
    super(formatProblems(stackName, problems));
    this.name = "ConfigError";
  }
}

/** A parsed configuration plus the secret values it references, kept as Pulumi secrets. */
export interface LoadedConfig {
  readonly stack: string;
  readonly config: StackConfig;
  /** Secret `permacoop:` keys by name (without namespace). Values are secret Outputs. */
  readonly secrets: Readonly<Record<string, pulumi.Output<string>>>;
}

/** Example values shown in fixes, by key path with indices/record keys replaced by `[]` / `*`. */
const EXAMPLES: Record<string, string> = {
  host: '\'{"kind":"scaleway-vm","adminCidrs":["203.0.113.7/32"],"sshPublicKeys":["ssh-ed25519 AAAA… ops@example"]}\'',
  "host.kind": "scaleway-vm",
  "host.zone": "fr-par-1",
  "host.type": "DEV1-S",
  "host.image": "debian_bookworm",
  "host.rootVolumeGb": "20",
  "host.ipv6": "true",
  "host.adminCidrs": "'[\"203.0.113.7/32\"]'",
  "host.adminCidrs[]": "203.0.113.7/32",
  "host.httpPort": "8080",
  "host.httpsPort": "8443",
  "host.deployUser": "deploy",
  "host.sshPublicKeys": "'[\"ssh-ed25519 AAAAC3Nza… ops@example\"]'",
  "host.sshPublicKeys[]": "'ssh-ed25519 AAAAC3Nza… ops@example'",
  "host.region": "fr-par",
  "host.registryNamespace": "permacoop-staging",
  "host.minScale": "1",
  "host.maxScale": "5",
  "host.cpuLimit": "560",
  "host.memoryLimitMb": "1024",
  "host.services.*.hostnames": "'[\"app.example.org\"]'",
  "host.services.*.hostnames[]": "app.example.org",
  "host.services.*.minScale": "1",
  "host.services.*.maxScale": "5",
  "host.services.*.cpuLimit": "560",
  "host.services.*.memoryLimitMb": "1024",
  database: '\'{"kind":"scaleway-managed"}\'',
  "database.kind": "scaleway-managed",
  "database.region": "fr-par",
  "database.nodeType": "DB-DEV-S",
  "database.engine": "PostgreSQL-16",
  "database.volumeSizeGb": "10",
  "database.name": "permacoop",
  "database.user": "permacoop",
  "database.backupFrequencyHours": "24",
  "database.backupRetentionDays": "7",
  "database.protect": "true",
  dns: '\'{"provider":"scaleway","zone":"example.org","hostnames":["app.example.org"]}\'',
  "dns.provider": "scaleway",
  "dns.zone": "example.org",
  "dns.hostnames": "'[\"app.example.org\"]'",
  "dns.hostnames[]": "app.example.org",
  "dns.ttl": "300",
  "tls.enabled": "true",
  "tls.email": "ops@example.org",
  "tls.acmeDirectory": "https://acme-staging-v02.api.letsencrypt.org/directory",
  "proxy.clientMaxBodySize": "10m",
  services: '\'[{"name":"app","image":"ghcr.io/org/app:main","port":3000}]\'',
  "services[].name": "app",
  "services[].image": "ghcr.io/org/app:main",
  "services[].fromStack": "fairnesscoop/permacoop-infra/staging",
  "services[].port": "3000",
  "services[].route": "/api/",
  "services[].healthPath": "/healthz",
  "services[].build.context": "app",
  "services[].build.dockerfile": "Dockerfile",
  "services[].release.command": "'make database-migrate'",
  "services[].release.timeoutSeconds": "600",
  "services[].healthCheck.intervalSeconds": "1",
  "services[].healthCheck.timeoutSeconds": "5",
  "services[].healthCheck.deadlineSeconds": "30",
  "services[].env.*": "production",
  "services[].secretEnv.*": "calendarToken",
  "services[].stripPrefix": "false",
  "services[].readTimeoutSeconds": "60",
  "services[].clientMaxBodySize": "50m",
  "services[].replicas": "2",
  jobs: "'[]'",
  "jobs[].name": "nightly-report",
  "jobs[].schedule": "'0 3 * * *'",
  "jobs[].command": "'make report'",
  "jobs[].timeoutSeconds": "3600",
  accessories: "'[]'",
  "accessories[].name": "cache",
  "accessories[].type": "redis",
  "accessories[].image": "redis:7",
  "accessories[].bucket": "files",
  "accessories[].envPrefix": "CACHE",
  "accessories[].port": "7700",
  "accessories[].dataPath": "/data",
  "accessories[].env.*": "production",
  "accessories[].passwordEnv": "MEILI_MASTER_KEY",
};

/** The fix of a secret in plain env: out of env, into secretEnv, its value typed at the prompt. */
function moveToSecretEnv(service: number, variable: string): string {
  const secretKey = secretKeyFor(variable);
  return (
    `pulumi config rm --path '${NAMESPACE}:services[${service}].env.${variable}' && ` +
    `pulumi config set --path '${NAMESPACE}:services[${service}].secretEnv.${variable}' ${secretKey} && ` +
    `pulumi config set --secret ${NAMESPACE}:${secretKey}   # then type the value, or pipe it on stdin`
  );
}

/** Turns `["host","adminCidrs",0]` into `host.adminCidrs[0]`. */
export function formatPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((out, part) => {
    if (typeof part === "number") return `${out}[${part}]`;
    const name = String(part);
    return out ? `${out}.${name}` : name;
  }, "");
}

/** An example for a key: from the stack's own values where they decide it (its DNS zone), else the schema's. */
function exampleFor(path: readonly PropertyKey[], input: Readonly<Record<string, unknown>>): string {
  const isRecordKey = (i: number) =>
    i > 0 && (path[i - 1] === "env" || path[i - 1] === "secretEnv" || (i === 2 && path[0] === "host" && path[1] === "services"));
  const parts = path.map((part, i) => (typeof part === "number" ? "[]" : isRecordKey(i) ? "*" : String(part)));
  const normalized = parts.reduce((out, part) => (part === "[]" ? `${out}[]` : out ? `${out}.${part}` : part), "");
  const zone = (input.dns as { zone?: unknown } | undefined)?.zone;
  if (typeof zone === "string" && /^[a-z0-9.-]+$/.test(zone)) {
    if (normalized === "dns.hostnames[]") return `app.${zone}`;
    if (normalized === "dns.hostnames") return `'["app.${zone}"]'`;
  }
  // A job runs with one of the stack's services: its first, when its name is valid.
  const firstService = (input.services as { name?: unknown }[] | undefined)?.[0]?.name;
  if (normalized === "jobs[].service") return typeof firstService === "string" && /^[a-z][a-z0-9-]{0,30}$/.test(firstService) ? firstService : "app";
  return EXAMPLES[normalized] ?? "<value>";
}

function describe(value: unknown): string {
  if (value === undefined) return "nothing (the key is missing)";
  const text = JSON.stringify(value);
  return text.length > 80 ? `${text.slice(0, 77)}…` : text;
}

/** `SESSION_SECRET` → `sessionSecret`: the secret key a variable moves to. */
function secretKeyFor(variable: string): string {
  const key = variable
    .toLowerCase()
    .replace(/^[^a-z]+/, "")
    .replace(/_+([a-z0-9])/g, (_, c: string) => c.toUpperCase())
    .replace(/_/g, "");
  return key === "" ? "secretValue" : key;
}

function fixFor(path: readonly PropertyKey[], input: Readonly<Record<string, unknown>>): string {
  const key = `${NAMESPACE}:${formatPath(path)}`;
  // A variable under env that the contract refuses there whatever its value: the fix moves it, or drops it.
  if (path.length === 4 && path[0] === "services" && path[2] === "env" && typeof path[3] === "string") {
    const variable = path[3];
    if (variable.startsWith("DATABASE_")) return `pulumi config rm --path '${key}'`;
    if (SECRET_KEY_PATTERN.test(variable.replace(/_/g, ""))) return moveToSecretEnv(path[1] as number, variable);
  }
  const flag = path.length > 1 ? "--path " : "";
  return `pulumi config set ${flag}'${key}' ${exampleFor(path, input)}`;
}

/** The offending value: a union's issue carries the whole object, the user wants the field. */
function inputAt(issue: z.core.$ZodIssue): unknown {
  const last = issue.path[issue.path.length - 1];
  const input = issue.input;
  if (issue.code === "invalid_union" && typeof last === "string" && input !== null && typeof input === "object" && last in input) {
    return (input as Record<string, unknown>)[last];
  }
  return input;
}

/** Shown instead of a value or a key name that may be a secret. */
const NOT_SHOWN = "<not shown>";

/**
 * Whether a value or a key name met in a config error may be a secret, and so is never printed:
 * it looks like a credential, or holds one of the stack's secret values (or of its keys set in
 * plaintext where a secret belongs).
 */
function secretDetector(secretLike: readonly string[]): (text: string) => boolean {
  const values = secretLike.filter((value) => value.length >= 4);
  return (text) => looksLikeCredential(text) || values.some((value) => text.includes(value));
}

/**
 * A value for an error message: never a value under env or secretEnv (any of them may be a
 * secret in the wrong place), under a key whose name says secret, or that may be a secret.
 */
function describeFound(value: unknown, path: readonly PropertyKey[], maySecret: (text: string) => boolean): string {
  const text = value === undefined ? "" : (JSON.stringify(value) ?? "");
  const secretPath = path.some((part) => part === "env" || part === "secretEnv" || (typeof part === "string" && SECRET_KEY_PATTERN.test(part)));
  if (value !== undefined && (secretPath || maySecret(text))) {
    return typeof value === "string"
      ? `a string of ${value.length} characters (${NOT_SHOWN}: it may be a secret)`
      : `a ${typeof value} (${NOT_SHOWN}: it may be a secret)`;
  }
  return describe(value);
}

function zodProblems(error: z.ZodError, maySecret: (text: string) => boolean, input: Readonly<Record<string, unknown>>): ConfigProblem[] {
  // A key name may be a secret pasted in the wrong place: its segments are masked like values.
  const path = (parts: readonly PropertyKey[]) => formatPath(parts.map((part) => (typeof part === "string" && maySecret(part) ? NOT_SHOWN : part)));
  return error.issues.flatMap((issue) => {
    // A discriminated-union mismatch or an unknown key is clearer reported per key.
    if (issue.code === "unrecognized_keys") {
      return issue.keys.map((name) => ({
        key: `${NAMESPACE}:${path([...issue.path, name])}`,
        expected: "no such key (check its spelling against docs/config.md)",
        found: "an unknown key",
        fix: `pulumi config rm --path '${NAMESPACE}:${path([...issue.path, name])}'`,
      }));
    }
    const fix =
      issue.code === "custom" && issue.params?.rule === "secret-in-env"
        ? moveToSecretEnv(issue.path[1] as number, String(issue.path[3]))
        : issue.code === "custom" && typeof issue.params?.fix === "string"
          ? issue.params.fix
          : issue.code === "custom" && (typeof issue.params?.value === "number" || typeof issue.params?.value === "string")
            ? `pulumi config set --path '${NAMESPACE}:${formatPath(issue.path)}' ${String(issue.params.value)}`
            : fixFor(issue.path, input);
    return [
      {
        key: `${NAMESPACE}:${path(issue.path)}`,
        expected: issue.message.replace(/^Invalid input: /, ""),
        found: describeFound(inputAt(issue), issue.path, maySecret),
        // A cross-key rule knows its fix better than the path's example does.
        fix: maySecret(fix) ? fix.replace(/'[^']*'/g, (quoted) => (maySecret(quoted) ? `'${NOT_SHOWN}'` : quoted)) : fix,
      },
    ];
  });
}

function formatProblems(stack: string, problems: readonly ConfigProblem[]): string {
  const lines = problems.map((p, i) => `  ${i + 1}. ${p.key}: expected ${p.expected.replace(/^expected /, "")}; found ${p.found}.\n     fix: ${p.fix}`);
  const noun = problems.length === 1 ? "problem" : "problems";
  return `Invalid configuration for stack "${stack}" (${problems.length} ${noun}); nothing was changed:\n${lines.join("\n")}`;
}

/**
 * Parses a stack's raw configuration (as Pulumi hands it to the program) against the contract.
 * Pure: takes the raw map and the set of keys that were set with `--secret`.
 * Throws ONE ConfigError listing every problem.
 */
export function parseStackConfig(
  stack: string,
  raw: Readonly<Record<string, string>>,
  secretKeys: ReadonlySet<string>,
): { config: StackConfig; secretValues: Record<string, string> } {
  const problems: ConfigProblem[] = [];
  const structured: Record<string, unknown> = {};
  const secretValues: Record<string, string> = {};
  const otherKeys: string[] = [];

  for (const [fullKey, value] of Object.entries(raw)) {
    const [namespace, key] = fullKey.split(":", 2) as [string, string | undefined];
    if (namespace !== NAMESPACE || key === undefined) continue;
    if ((STRUCTURED_KEYS as string[]).includes(key)) {
      try {
        structured[key] = JSON.parse(value);
      } catch {
        structured[key] = value; // a plain string where an object is expected: zod names it
      }
    } else {
      otherKeys.push(key);
      if (secretKeys.has(fullKey)) secretValues[key] = value;
    }
  }

  const parsed = stackConfigSchema.safeParse(structured, { reportInput: true });
  // Every non-structured key holds a secret, set with --secret or (refused below) in plaintext.
  const secretLike = Object.entries(raw)
    .filter(([fullKey]) => fullKey.startsWith(`${NAMESPACE}:`) && otherKeys.includes(fullKey.slice(NAMESPACE.length + 1)))
    .map(([, value]) => value);
  if (!parsed.success) problems.push(...zodProblems(parsed.error, secretDetector(secretLike), structured));

  if (parsed.success) problems.push(...checkStackRules(stack, parsed.data));

  const referenced = new Set<string>();
  if (parsed.success && parsed.data.host.kind === "ssh") {
    referenced.add(PROGRAM_SECRETS.sshPrivateKey);
    if (!otherKeys.includes(PROGRAM_SECRETS.sshPrivateKey)) {
      problems.push({
        key: `${NAMESPACE}:${PROGRAM_SECRETS.sshPrivateKey}`,
        expected: `the private key of ${parsed.data.host.user}@${parsed.data.host.address ?? parsed.data.host.hosts?.[0]?.address} (required by host.kind "ssh")`,
        found: "nothing (the key is missing)",
        fix: `pulumi config set --secret ${NAMESPACE}:${PROGRAM_SECRETS.sshPrivateKey} < ~/.ssh/deploy_ed25519`,
      });
    }
  }
  if (parsed.success && parsed.data.database.kind === "external") {
    referenced.add(PROGRAM_SECRETS.databasePassword);
    if (!otherKeys.includes(PROGRAM_SECRETS.databasePassword)) {
      problems.push({
        key: `${NAMESPACE}:${PROGRAM_SECRETS.databasePassword}`,
        expected: `the password of ${parsed.data.database.user} on ${parsed.data.database.host} (required by database.kind "external")`,
        found: "nothing (the key is missing)",
        fix: `pulumi config set --secret ${NAMESPACE}:${PROGRAM_SECRETS.databasePassword}   # then type the value, or pipe it on stdin`,
      });
    }
  }
  if (parsed.success) {
    parsed.data.registries.forEach((registry, i) => {
      referenced.add(registry.passwordSecret);
      if (!otherKeys.includes(registry.passwordSecret)) {
        problems.push({
          key: `${NAMESPACE}:${registry.passwordSecret}`,
          expected: `the password or token of ${registry.username} on ${registry.address} (registries[${i}].passwordSecret refers to it)`,
          found: "nothing (the key is missing)",
          fix: `pulumi config set --secret ${NAMESPACE}:${registry.passwordSecret}   # then type the value, or pipe it on stdin`,
        });
      }
    });
    parsed.data.services.forEach((service, i) => {
      for (const [envName, secretName] of Object.entries(service.secretEnv)) {
        referenced.add(secretName);
        if (!otherKeys.includes(secretName)) {
          problems.push({
            key: `${NAMESPACE}:${secretName}`,
            expected: `a secret value (services[${i}].secretEnv.${envName} refers to it)`,
            found: "nothing (the key is missing)",
            fix: `pulumi config set --secret ${NAMESPACE}:${secretName}   # then type the value, or pipe it on stdin`,
          });
        }
      }
    });
  }

  for (const key of otherKeys) {
    const fullKey = `${NAMESPACE}:${key}`;
    if (!secretKeys.has(fullKey)) {
      const looksSecret = SECRET_KEY_PATTERN.test(key) || referenced.has(key);
      problems.push(
        looksSecret
          ? {
              key: fullKey,
              expected: "a secret (encrypted with pulumi config set --secret)",
              found: "a plaintext value (not shown)",
              fix: `pulumi config rm ${fullKey} && pulumi config set --secret ${fullKey}   # then type the value, or pipe it on stdin`,
            }
          : {
              key: fullKey,
              expected: `one of ${STRUCTURED_KEYS.join(", ")}, or a secret referenced by a service's secretEnv`,
              found: "an unknown key",
              fix: `pulumi config rm ${fullKey}`,
            },
      );
    } else if (!referenced.has(key) && parsed.success && (Object.values(PROGRAM_SECRETS) as string[]).includes(key)) {
      // The program's own secret on a host kind that does not use it: never an app's variable.
      problems.push({
        key: fullKey,
        expected:
          key === PROGRAM_SECRETS.databasePassword
            ? `no ${key} with database.kind "${parsed.data.database.kind}" (only database.kind "external" uses it)`
            : `no ${key} on host.kind "${parsed.data.host.kind}" (only host.kind "ssh" uses it)`,
        found: "a secret nothing uses",
        fix: `pulumi config rm ${fullKey}`,
      });
    } else if (!referenced.has(key) && parsed.success) {
      problems.push({
        key: fullKey,
        expected: "a secret referenced by some services[].secretEnv or registries[].passwordSecret",
        found: "a secret nothing uses",
        fix: `pulumi config set --path '${NAMESPACE}:services[0].secretEnv.${key.replace(/([a-z])([A-Z])/g, "$1_$2").toUpperCase()}' ${key}   # or: pulumi config rm ${fullKey}`,
      });
    }
  }

  if (problems.length > 0 || !parsed.success) throw new ConfigError(stack, problems);
  // The schema's refinements admitted only the host/database pairs StackConfig spells out.
  return { config: parsed.data as StackConfig, secretValues };
}

/** Reads and validates the running stack's configuration; call before creating any resource. */
export function loadStackConfig(): LoadedConfig {
  const runtimeConfig = require("@pulumi/pulumi/runtime/config") as { allConfig(): Record<string, string>; isConfigSecret(key: string): boolean };
  const raw = runtimeConfig.allConfig();
  const secretKeys = new Set(Object.keys(raw).filter((key) => runtimeConfig.isConfigSecret(key)));
  const stack = pulumi.getStack();
  const { config, secretValues } = parseStackConfig(stack, raw, secretKeys);
  const secrets = Object.fromEntries(Object.entries(secretValues).map(([key, value]) => [key, pulumi.secret(value)]));
  return { stack, config, secrets };
}
