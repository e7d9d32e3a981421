import { execFileSync } from "node:child_process";
import { join } from "node:path";

let cached: Record<string, string> | undefined;

/**
 * The environment the Pulumi CLI needs offline (PATH, PULUMI_HOME, no update check, no plugin
 * download, a default file backend), from `tools/toolchain.sh --print-env`; builds the
 * toolchain first when it is missing.
 */
export function toolchainEnv(): Record<string, string> {
  if (!cached) {
    const out = execFileSync("bash", [join(__dirname, "toolchain.sh"), "--print-env"], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
    cached = {};
    for (const line of out.split("\n")) {
      const match = /^export ([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line.trim());
      // Values are printed shell-quoted (PATH refers to $PATH): let the shell evaluate them.
      if (match) cached[match[1]!] = execFileSync("bash", ["-c", `printf %s ${match[2]}`], { encoding: "utf8" });
    }
  }
  return cached;
}
