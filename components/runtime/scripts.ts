/**
 * Host scripts: rendered here, installed on the host once per version (a content hash in the
 * file name) by the `scripts` step, and run by short commands. A failed step's error therefore
 * quotes a command of a few hundred characters, not the script (the upstream command provider
 * quotes the whole command in its error, three times).
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { HostContract, homePath, OWNER_VARIABLE, ownerGuard } from "./contract";
import { shellQuote } from "./shell";

/** A source file of components/runtime/host/. */
export function readHostSource(file: string): string {
  return readFileSync(join(__dirname, "host", file), "utf8");
}

/** A complete script: shebang, what it is, its variables, then its sources. */
export function renderHostScript(title: string, variables: readonly string[], sources: readonly string[]): string {
  return ["#!/usr/bin/env bash", `# ${title}, rendered by permacoop-infra (components/runtime).`, ...variables, "", ...sources].join("\n");
}

/** A rendered script and the file it is installed as. */
export interface HostScript {
  /** `<kind>-<first 12 hex of its SHA-256>.sh`: a new version is a new file. */
  readonly file: string;
  readonly content: string;
}

export function hostScript(kind: string, content: string): HostScript {
  if (!/^[a-z][a-z0-9-]*$/.test(kind)) throw new Error(`hostScript: invalid kind ${kind}`);
  return { file: `${kind}-${createHash("sha256").update(content).digest("hex").slice(0, 12)}.sh`, content };
}

/** What the `scripts` step reads on stdin: one `<file> <base64 content>` line per script. */
export function installBundle(scripts: readonly HostScript[]): string {
  return scripts.map((s) => `${s.file} ${Buffer.from(s.content).toString("base64")}\n`).join("");
}

/**
 * The `scripts` step's command (POSIX sh: it runs before anything of ours is on the host): writes
 * each file of the bundle whole (a temporary name, then a rename) into the contract's scripts
 * directory. The file names are in the command, so the step runs again exactly when one changes.
 */
export function installCommand(contract: HostContract, scripts: readonly HostScript[]): string {
  const dir = homePath(contract.paths.scripts);
  return [
    // First touch of the host: refused when another stack of this name deployed it, else claimed.
    ownerGuard(contract, "refuse"),
    `set -eu; d=${dir}; mkdir -p "$d"; chmod 700 "$d"`,
    `if [ -n "\${${OWNER_VARIABLE}:-}" ] && [ ! -f "$o" ]; then printf %s "$${OWNER_VARIABLE}" >"$o"; fi`,
    `while read -r f b; do printf %s "$b" | base64 -d >"$d/.$f"; mv "$d/.$f" "$d/$f"; done`,
    `echo "host scripts in $d: ${scripts.map((s) => s.file).join(" ")}"`,
  ].join("; ");
}

/** The scripts directory goes last, once every step that runs a script is gone. */
export function uninstallCommand(contract: HostContract): string {
  // The last step of a destroy: what another stack of this name deployed stays; the claim goes.
  return `${ownerGuard(contract, "leave")}; rm -rf ${homePath(contract.paths.scripts)} "$o"`;
}

/** A short command running an installed script with `args` (each a shell word, quoted here). */
export function runScriptCommand(contract: HostContract, script: HostScript, ...args: string[]): string {
  const path = homePath(`${contract.paths.scripts}/${script.file}`);
  const missing = `${script.file} is not installed on this host: npm run drift -- -s ${contract.environment} --repair installs it`;
  return `s=${path}; [ -f "$s" ] || { echo ${shellQuote(missing)} >&2; exit 1; }; exec bash "$s"${args.map((a) => ` ${shellQuote(a)}`).join("")}`;
}

/**
 * A command running the current runtime (the link the last `up` left): what deletions run, since
 * the version they were declared with may be gone from the host by then.
 */
export function runCurrentRuntimeCommand(contract: HostContract, ...args: string[]): string {
  const path = homePath(contract.paths.runtime);
  return `s=${path}; if [ ! -e "$s" ]; then echo ${shellQuote(`no runtime of ${contract.environment} on this host: nothing to do`)}; exit 0; fi; exec bash "$s"${args.map((a) => ` ${shellQuote(a)}`).join("")}`;
}
