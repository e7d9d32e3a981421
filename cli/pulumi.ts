/**
 * Which Pulumi CLI the commands run: the one the user installed (a `pulumi` on PATH, with its own
 * PULUMI_HOME, plugins and login) when there is one; the offline toolchain (tools/toolchain.sh)
 * only where there is none, or when asked with PERMACOOP_TOOLCHAIN=offline.
 */
import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";
import { toolchainEnv } from "../tools/toolchainEnv";

const root = join(__dirname, "..");

/** The passphrase of the `local` stack's secrets (a dev value: nothing of it leaves this machine). */
export const LOCAL_PASSPHRASE = "permacoop-local";

/** The stacks that live on this machine (npm run local, npm run vm): state in .pulumi-local/, the dev passphrase (cli/lib.sh). */
export const MACHINE_STACKS: readonly string[] = ["local", "vm"];

/** Whether `command` is an executable on `PATH`. */
export function onPath(command: string, path = process.env.PATH ?? ""): boolean {
  return path
    .split(delimiter)
    .filter(Boolean)
    .some((dir) => {
      try {
        accessSync(join(dir, command), constants.X_OK);
        return true;
      } catch {
        return false;
      }
    });
}

/** `installed` (a pulumi on PATH) or `offline` (the toolchain), as chosen above. */
export function pulumiSource(env: NodeJS.ProcessEnv = process.env): "installed" | "offline" {
  return env.PERMACOOP_TOOLCHAIN !== "offline" && onPath("pulumi", env.PATH) ? "installed" : "offline";
}

/** The CLI's environment for a stack: the chosen CLI, its backend (this machine's stacks have their own) and passphrase. */
export function pulumiCliEnv(stack: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  if (pulumiSource() === "offline") {
    // The toolchain's default file backend applies only when no backend is chosen.
    const { PULUMI_BACKEND_URL: defaultBackend, ...toolchain } = toolchainEnv();
    Object.assign(env, toolchain, { PULUMI_BACKEND_URL: process.env.PULUMI_BACKEND_URL ?? defaultBackend });
  }
  if (MACHINE_STACKS.includes(stack)) {
    env.PULUMI_BACKEND_URL = process.env.PULUMI_BACKEND_URL ?? `file://${join(root, ".pulumi-local")}`;
    env.PULUMI_CONFIG_PASSPHRASE = process.env.PULUMI_CONFIG_PASSPHRASE ?? LOCAL_PASSPHRASE;
  }
  return env;
}
