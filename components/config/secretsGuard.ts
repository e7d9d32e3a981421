import { parse as parseYaml } from "yaml";
import { PROGRAM_SECRETS, SECRET_KEY_PATTERN } from "./schema";

/** A secret found in plaintext in a stack file. */
export interface PlaintextSecret {
  readonly file: string;
  /** Key path, e.g. `permacoop:calendarToken` or `permacoop:services[0].env.API_TOKEN`. */
  readonly key: string;
  readonly why: string;
}

const PRIVATE_KEY_PEM = /-----BEGIN [A-Z ]*PRIVATE KEY-----/;

function isSecure(value: unknown): boolean {
  return typeof value === "object" && value !== null && !Array.isArray(value) && Object.keys(value).length === 1 && "secure" in value;
}

/** Names of config keys a stack reads as secrets (`services[].secretEnv` values, `registries[].passwordSecret`). */
function referencedSecrets(config: Record<string, unknown>): Set<string> {
  const names = new Set<string>(Object.values(PROGRAM_SECRETS));
  for (const [key, value] of Object.entries(config)) {
    if (key.endsWith(":registries") && Array.isArray(value)) {
      for (const registry of value) {
        const name = (registry as { passwordSecret?: unknown })?.passwordSecret;
        if (typeof name === "string") names.add(name);
      }
    }
    if (!key.endsWith(":services") || !Array.isArray(value)) continue;
    for (const service of value) {
      const secretEnv = (service as { secretEnv?: Record<string, unknown> })?.secretEnv ?? {};
      for (const name of Object.values(secretEnv)) if (typeof name === "string") names.add(name);
    }
  }
  return names;
}

/**
 * Finds secrets stored in plaintext in a Pulumi stack file: keys whose names say they hold a
 * secret, keys a service reads as a secret, and private keys anywhere. Pure: the text in, the
 * findings out (the values themselves are never reported).
 */
export function findPlaintextSecrets(file: string, text: string): PlaintextSecret[] {
  const document = (parseYaml(text) ?? {}) as { config?: Record<string, unknown> };
  const config = document.config ?? {};
  const referenced = referencedSecrets(config);
  const findings: PlaintextSecret[] = [];

  const walk = (path: string, value: unknown, parentKey: string): void => {
    if (isSecure(value)) return;
    if (typeof value === "string") {
      if (PRIVATE_KEY_PEM.test(value)) findings.push({ file, key: path, why: "a private key in plaintext" });
      return;
    }
    if (Array.isArray(value)) return value.forEach((item, i) => walk(`${path}[${i}]`, item, parentKey));
    if (typeof value === "object" && value !== null) {
      for (const [key, child] of Object.entries(value)) {
        // secretEnv maps variable names to the NAMES of secret keys: not secrets themselves.
        if (parentKey !== "secretEnv" && key !== "secretEnv" && typeof child === "string" && SECRET_KEY_PATTERN.test(key.replace(/_/g, ""))) {
          findings.push({ file, key: `${path}.${key}`, why: "a key named like a secret holds plaintext" });
          continue;
        }
        walk(`${path}.${key}`, child, key);
      }
    }
  };

  for (const [key, value] of Object.entries(config)) {
    const name = key.slice(key.indexOf(":") + 1);
    if (isSecure(value)) continue;
    if (SECRET_KEY_PATTERN.test(name) || referenced.has(name)) {
      findings.push({ file, key, why: SECRET_KEY_PATTERN.test(name) ? "its name says it is a secret" : "a service reads it as a secret" });
      continue;
    }
    walk(key, value, "");
  }
  return findings;
}
