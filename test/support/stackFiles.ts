import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse as parseYaml } from "yaml";

export const PROJECT_DIR = join(__dirname, "..", "..");

type ConfigValue = unknown;

/** Project-level defaults (`config.<key>.value` in Pulumi.yaml). */
function projectDefaults(): Record<string, ConfigValue> {
  const project = parseYaml(readFileSync(join(PROJECT_DIR, "Pulumi.yaml"), "utf8")) as { config?: Record<string, { value?: ConfigValue }> };
  return Object.fromEntries(Object.entries(project.config ?? {}).flatMap(([key, spec]) => (spec.value === undefined ? [] : [[key, spec.value]])));
}

function isSecure(value: ConfigValue): value is { secure: string } {
  return typeof value === "object" && value !== null && "secure" in value;
}

/**
 * The configuration a stack file gives the program, as the engine would: project defaults
 * overlaid by the stack's values, objects as JSON, `secure:` values as secret keys
 * (with a placeholder value: the passphrase is not in the repository).
 */
export function stackConfig(stack: string): { raw: Record<string, string>; secretKeys: string[]; structured: Record<string, ConfigValue> } {
  const file = parseYaml(readFileSync(join(PROJECT_DIR, `Pulumi.${stack}.yaml`), "utf8")) as { config?: Record<string, ConfigValue> };
  const merged: Record<string, ConfigValue> = { ...projectDefaults(), ...(file.config ?? {}) };
  const raw: Record<string, string> = {};
  const secretKeys: string[] = [];
  for (const [key, value] of Object.entries(merged)) {
    if (isSecure(value)) {
      secretKeys.push(key);
      raw[key] = `placeholder-for-${key}`;
    } else {
      raw[key] = typeof value === "string" ? value : JSON.stringify(value);
    }
  }
  return { raw, secretKeys, structured: merged };
}
