/**
 * How the day-2 scripts (ops, backup, drift) reach an environment: its validated configuration
 * read through the CLI, and a shell on its host — this machine, or SSH with the pinned host key.
 */
import { execFileSync, spawnSync, SpawnSyncOptions, SpawnSyncReturns } from "node:child_process";
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseStackConfig } from "../components/config/load";
import { hostCount, sshServers } from "../components/config/rules";
import { PROGRAM_SECRETS, StackConfig } from "../components/config/schema";
import { HostContract, hostContract, homePath, runtimeComponentName } from "../components/runtime/contract";
import { pulumiCliEnv } from "./pulumi";

/** The stack's validated configuration and secrets, read through the CLI. */
export function readStack(stack: string): { config: StackConfig; secrets: Record<string, string> } {
  const raw = JSON.parse(
    execFileSync("pulumi", ["config", "--json", "--show-secrets", "--stack", stack], { cwd: process.cwd(), env: pulumiCliEnv(stack), encoding: "utf8" }),
  ) as Record<string, { value: string; secret: boolean }>;
  const values = Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, v.value]));
  const secretKeys = new Set(
    Object.entries(raw)
      .filter(([, v]) => v.secret)
      .map(([k]) => k),
  );
  const { config, secretValues } = parseStackConfig(stack, values, secretKeys);
  return { config, secrets: secretValues };
}

/** SSH coordinates of a host: from the config (`ssh`), or from the stack outputs (`scaleway-vm`, `local-vm`). */
interface SshTarget {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly hostKey: string;
  readonly privateKey: string;
}

/** The host `--host` chose among several (its address, or its 1-based position); none: the first. */
let chosenHost: string | undefined;

/** Makes the next commands reach the host `--host <address|number>` names (several hosts); undefined: the first. */
export function chooseHost(choice: string | undefined): void {
  chosenHost = choice;
}

/**
 * Runs `action` against each host of the stack in turn (several: `host.count`, `host.hosts`),
 * with its 1-based number and how many there are; the host chosen before is chosen again after.
 */
export function onEveryHost<T>(config: StackConfig, action: (host: { readonly number: number; readonly count: number }) => T): T[] {
  const count = Math.max(1, hostCount(config.host));
  const before = chosenHost;
  try {
    return Array.from({ length: count }, (_, i) => {
      chosenHost = count > 1 ? String(i + 1) : before;
      return action({ number: i + 1, count });
    });
  } finally {
    chosenHost = before;
  }
}

/** The position of the chosen host among `addresses`; a choice naming none of them fails, listing them. */
export function hostIndex(addresses: readonly string[], choice: string | undefined = chosenHost): number {
  if (choice === undefined) return 0;
  const byAddress = addresses.indexOf(choice);
  if (byAddress >= 0) return byAddress;
  const position = /^[1-9][0-9]*$/.test(choice) ? Number(choice) - 1 : -1;
  if (position >= 0 && position < addresses.length) return position;
  throw new Error(`--host ${choice}: not a host of this stack (hosts: ${addresses.map((a, i) => `${i + 1}=${a}`).join(", ")})`);
}

function sshTarget(stack: string, config: StackConfig, secrets: Record<string, string>): SshTarget {
  if (config.host.kind === "ssh") {
    const servers = sshServers(config.host);
    const server = servers[hostIndex(servers.map((s) => s.address))]!;
    return { host: server.address, port: server.port, user: server.user, hostKey: server.hostKey, privateKey: secrets[PROGRAM_SECRETS.sshPrivateKey] ?? "" };
  }
  if (config.host.kind === "scaleway-vm" || config.host.kind === "local-vm") {
    // Only the outputs needed: the others (serviceEnv) hold secrets this has no use for.
    const several = config.host.kind === "scaleway-vm" && config.host.count > 1;
    const ssh = several
      ? ((targets: Omit<SshTarget, "privateKey">[]) => targets[hostIndex(targets.map((t) => t.host))]!)(JSON.parse(stackOutput(stack, "servers", "--json")))
      : (JSON.parse(stackOutput(stack, "ssh", "--json")) as Omit<SshTarget, "privateKey">);
    return { ...ssh, privateKey: stackOutput(stack, "sshPrivateKey", "--show-secrets").trimEnd() + "\n" };
  }
  if (chosenHost !== undefined) throw new Error(`--host ${chosenHost}: host kind ${config.host.kind} has one host`);
  throw new Error(`host kind ${config.host.kind} has no host to log in to (the platform runs the containers)`);
}

/** One output of the stack (`pulumi stack output`); a stack never deployed has none. */
function stackOutput(stack: string, name: string, ...flags: string[]): string {
  const result = spawnSync("pulumi", ["stack", "output", name, ...flags, "--stack", stack], { env: pulumiCliEnv(stack), encoding: "utf8" });
  if (result.status !== 0) throw new Error(`stack ${stack} has no ${name} output yet: run pulumi up -s ${stack} first`);
  return result.stdout;
}

/**
 * The names and paths of the stack's environment on its host: from the environment's id the
 * last `up` exported (`envId`); the stack's name alone for one deployed before ids, until its next `up`.
 */
export function stackContract(stack: string): HostContract {
  // A host chosen among several: its own id (`envIds`, in the hosts' order); the first's is `envId`.
  if (chosenHost !== undefined) {
    const ids = JSON.parse(stackOutput(stack, "envIds", "--json")) as string[];
    const id = ids[chosenIndexOf(stack)];
    if (!id) throw new Error(`stack ${stack} has no environment id for host ${chosenHost}: run pulumi up -s ${stack} first`);
    return hostContract(stack, id);
  }
  const result = spawnSync("pulumi", ["stack", "output", "envId", "--stack", stack], { env: pulumiCliEnv(stack), encoding: "utf8" });
  if (result.status === 0 && result.stdout.trim() !== "") return hostContract(stack, result.stdout.trim());
  // Any failure but a missing output must not guess.
  if (!/does not have output property/.test(`${result.stderr}`))
    throw new Error(`cannot read the environment id of stack ${stack} (pulumi stack output envId): ${`${result.stderr}`.trim().split("\n")[0]}`);
  // No output yet (a first up that failed after probing): the probe's own record in the state.
  // Only a stack with neither was deployed before ids: the stack's name alone.
  const state = JSON.parse(execFileSync("pulumi", ["stack", "export", "--stack", stack], { env: pulumiCliEnv(stack), encoding: "utf8" })) as {
    deployment?: { resources?: { urn: string; outputs?: { stdout?: unknown } }[] };
  };
  const probe = state.deployment?.resources?.find((r) => r.urn.endsWith(`::${runtimeComponentName(stack)}-env-id`));
  const probed = typeof probe?.outputs?.stdout === "string" ? probe.outputs.stdout.trim() : "";
  return hostContract(stack, probed || stack);
}

/** The chosen host's position, from the addresses the stack exported (`servers`, in the hosts' order). */
function chosenIndexOf(stack: string): number {
  const servers = JSON.parse(stackOutput(stack, "servers", "--json")) as { host: string }[];
  return hostIndex(servers.map((s) => s.host));
}

/** Spawns `command` in a shell on the environment's host: here, or over SSH with the pinned host key. */
function spawnOnHost(
  stack: string,
  config: StackConfig,
  secrets: Record<string, string>,
  command: string,
  options: SpawnSyncOptions & { readonly tty?: boolean },
): SpawnSyncReturns<string | Buffer> {
  if (config.host.kind === "local") return spawnSync("bash", ["-c", command], options);
  const target = sshTarget(stack, config, secrets);
  const dir = mkdtempSync(join(tmpdir(), "permacoop-ops-"));
  try {
    const key = join(dir, "key");
    writeFileSync(key, target.privateKey, { mode: 0o600 });
    const knownHosts = join(dir, "known_hosts");
    writeFileSync(knownHosts, `${target.port === 22 ? target.host : `[${target.host}]:${target.port}`} ${target.hostKey}\n`);
    const args = [
      ...["-i", key, "-p", String(target.port), "-o", `UserKnownHostsFile=${knownHosts}`, "-o", "StrictHostKeyChecking=yes", "-o", "IdentitiesOnly=yes"],
      ...(options.tty ? ["-t"] : []),
      `${target.user}@${target.host}`,
      command,
    ];
    return spawnSync("ssh", args, options);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs a shell command on the environment's host; its output is returned (or the terminal's, interactive). */
export function onHost(
  stack: string,
  config: StackConfig,
  secrets: Record<string, string>,
  command: string,
  interactive = false,
  input?: string,
): { status: number; stdout: string } {
  const stdio = interactive ? "inherit" : ([input === undefined ? "ignore" : "pipe", "pipe", "inherit"] as const);
  const result = spawnOnHost(stack, config, secrets, command, { stdio: stdio as never, encoding: "utf8", input, tty: interactive });
  return { status: result.status ?? 1, stdout: String(result.stdout ?? "") };
}

/**
 * Copies a file of the host (a path relative to the deploy user's home) to `localPath`, readable by
 * this user only, streamed straight to disk; the copy's SHA-256 is checked against the host's.
 */
export function copyFromHost(stack: string, config: StackConfig, secrets: Record<string, string>, remotePath: string, localPath: string): void {
  const quoted = homePath(remotePath);
  const fd = openSync(localPath, "wx", 0o600);
  try {
    const copied = spawnOnHost(stack, config, secrets, `cat ${quoted}`, { stdio: ["ignore", fd, "inherit"] });
    if (copied.status !== 0) throw new Error(`cannot read ${remotePath} on the host of ${stack}`);
  } finally {
    closeSync(fd);
  }
  const remote = String(spawnOnHost(stack, config, secrets, `sha256sum < ${quoted}`, { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] }).stdout).split(
    " ",
  )[0];
  const local = execFileSync("sha256sum", [localPath], { encoding: "utf8" }).split(" ")[0];
  if (remote !== local) {
    rmSync(localPath, { force: true });
    throw new Error(`the copy of ${remotePath} differs from the host's (sha256 ${local} vs ${remote}): removed, try again`);
  }
}

/** Runs an action of the current runtime script on the host (the host contract's `paths.runtime`, which the last deployment set). */
export function runtimeAction(
  stack: string,
  config: StackConfig,
  secrets: Record<string, string>,
  action: string,
  input?: string,
): { status: number; stdout: string } {
  const copy = homePath(stackContract(stack).paths.runtime);
  return onHost(
    stack,
    config,
    secrets,
    `if [ ! -f ${copy} ]; then echo "no runtime of ${stack} on this host: deploy it first (pulumi up -s ${stack})" >&2; exit 2; fi; bash ${copy} ${action}`,
    false,
    input,
  );
}
