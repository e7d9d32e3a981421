/**
 * Ship a version — what ops run instead of editing YAML by hand:
 *   npm run deploy   -- -s <stack> <service>=<image ref> … [--yes] [--record] [--dry-run]   run these images
 *   npm run rollback -- -s <stack> [service] [--yes] [--record] [--dry-run]                 back to the previous image that served
 * --record commits Pulumi.<stack>.yaml once deployed (the app repository's workflow pushes it to
 * main, so the next merge deploys the same digest); --dry-run prints what would change and touches nothing.
 * Both set the services' `image` in the stack's config (Pulumi.<stack>.yaml: the record of what
 * runs), then run `pulumi up` (its health-gated rollout); if the update fails, the config is put
 * back to what still runs. A protected stack asks first (`--yes` for CI). Rollback reads the
 * host's audit log (a rollout's `to` image is its digest when the tag was resolved): the lines of
 * the stack that owns the environment there, never those of an earlier one of that name.
 */
import { spawnSync } from "node:child_process";
import { createInterface } from "node:readline/promises";
import { imageRefSchema, isDataProtected, StackConfig } from "../components/config/schema";
import { homePath } from "../components/runtime/contract";
import { runMain, takeFlag, takeStack } from "./args";
import { onHost, readStack, stackContract } from "./host";
import { pulumiCliEnv } from "./pulumi";

const USAGE = {
  deploy: "usage: npm run deploy -- -s <stack> <service>=<image ref> … [--yes] [--record] [--dry-run]",
  rollback: "usage: npm run rollback -- -s <stack> [service] [--yes] [--record] [--dry-run]",
} as const;

/** How a deploy goes: ask or not, commit the stack file afterwards, or only say what it would do. */
export interface ShipOptions {
  readonly yes: boolean;
  readonly record: boolean;
  readonly dryRun: boolean;
}

function takeShipOptions(rest: string[]): ShipOptions {
  return { yes: takeFlag(rest, "--yes"), record: takeFlag(rest, "--record"), dryRun: takeFlag(rest, "--dry-run") };
}

export interface DeployArgs extends ShipOptions {
  readonly stack: string;
  /** Image ref per service name, in the order given. */
  readonly images: readonly { readonly service: string; readonly image: string }[];
}

/** Parses `-s <stack> <service>=<ref> … [--yes]`; throws the usage (and what is wrong) on anything else. */
export function parseDeployArgs(argv: readonly string[]): DeployArgs {
  const rest = [...argv];
  const options = takeShipOptions(rest);
  const stack = takeStack(rest, USAGE.deploy);
  if (rest.length === 0) throw new Error(`${USAGE.deploy}\n(no <service>=<image ref> given)`);
  const images = rest.map((arg) => {
    const match = /^([a-z][a-z0-9-]{0,30})=(.+)$/.exec(arg);
    if (!match) throw new Error(`${USAGE.deploy}\n(expected <service>=<image ref>, got "${arg}")`);
    const checked = imageRefSchema.safeParse(match[2]);
    if (!checked.success) throw new Error(`${USAGE.deploy}\n(${match[1]}: ${checked.error.issues[0]?.message ?? "not an image reference"}: "${match[2]}")`);
    return { service: match[1]!, image: match[2]! };
  });
  const names = images.map((i) => i.service);
  const twice = names.find((name, i) => names.indexOf(name) !== i);
  if (twice) throw new Error(`${USAGE.deploy}\n(service ${twice} given twice)`);
  return { stack, images, ...options };
}

export interface RollbackArgs extends ShipOptions {
  readonly stack: string;
  readonly service?: string;
}

/** Parses `-s <stack> [service] [--yes]`. */
export function parseRollbackArgs(argv: readonly string[]): RollbackArgs {
  const rest = [...argv];
  const options = takeShipOptions(rest);
  const stack = takeStack(rest, USAGE.rollback);
  if (rest.length > 1) throw new Error(`${USAGE.rollback}\n(unexpected: ${rest.slice(1).join(" ")})`);
  return { stack, service: rest[0], ...options };
}

/** One line of the host's audit log (components/runtime/host/rollout.sh writes them). */
export interface AuditEntry {
  readonly at: string;
  readonly service: string;
  readonly from: string;
  readonly to: string;
  readonly outcome: string;
  /** The id of the stack that rolled out ("" in lines written before ids were recorded). */
  readonly owner: string;
}

export function parseAuditLog(text: string): AuditEntry[] {
  return text
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => {
      const [at, ...fields] = line.split("\t");
      const field = (name: string) => fields.find((f) => f.startsWith(`${name}=`))?.slice(name.length + 1) ?? "";
      return { at: at ?? "", service: field("service"), from: field("from"), to: field("to"), outcome: field("outcome"), owner: field("owner") };
    });
}

/**
 * The image `service` served before the one it serves now: walking the succeeded rollouts of the
 * stack `owner` back from the newest, the first image that is not the current one. Lines of
 * another stack (an earlier one of that name, destroyed: its registry may be gone) or with no
 * owner never count. Undefined when there is none.
 */
export function previousImage(entries: readonly AuditEntry[], service: string, owner: string): { current: string; previous: string } | undefined {
  const served = entries.filter((e) => e.service === service && e.outcome === "succeeded" && owner !== "" && e.owner === owner).map((e) => e.to);
  const current = served[served.length - 1];
  if (current === undefined) return undefined;
  const previous = [...served].reverse().find((image) => image !== current);
  return previous === undefined ? undefined : { current, previous };
}

/** The config changes as `[index in services, service, from, to]`; throws when a service is unknown. */
export function plannedChanges(config: StackConfig, images: DeployArgs["images"]): { index: number; service: string; from: string; to: string }[] {
  return images.map(({ service, image }) => {
    const index = config.services.findIndex((s) => s.name === service);
    if (index < 0) throw new Error(`no service ${service} in this stack (services: ${config.services.map((s) => s.name).join(", ")})`);
    const current = config.services[index]!;
    if (current.build) throw new Error(`service ${service} is built from ${current.build.context} (build): its image comes from the source, not from deploy`);
    if (current.fromStack) throw new Error(`service ${service} ships what ${current.fromStack} runs (fromStack): deploy there, then pulumi up this stack`);
    return { index, service, from: current.image, to: image };
  });
}

function pulumi(stack: string, args: string[], inherit = false) {
  return spawnSync("pulumi", [...args, "--stack", stack], {
    env: pulumiCliEnv(stack),
    encoding: "utf8",
    stdio: inherit ? "inherit" : "pipe",
  });
}

/** The services as configured (a YAML list, or the JSON string `pulumi config set` stores). */
function configuredServices(stack: string): Record<string, unknown>[] {
  const result = pulumi(stack, ["config", "get", "permacoop:services", "--json"]);
  if (result.status !== 0) throw new Error(`pulumi config get permacoop:services failed: ${result.stderr.trim()}`);
  const entry = JSON.parse(result.stdout) as { value: string; objectValue?: unknown };
  return (entry.objectValue ?? JSON.parse(entry.value)) as Record<string, unknown>[];
}

/** Writes the whole services list back (set --path would misread a list stored as a JSON string). */
function setServices(stack: string, services: readonly Record<string, unknown>[]): void {
  const json = JSON.stringify({ "permacoop:services": { value: JSON.stringify(services), objectValue: services, secret: false } });
  const result = pulumi(stack, ["config", "set-all", "--json", json]);
  if (result.status !== 0) throw new Error(`pulumi config set-all failed: ${result.stderr.trim()}`);
}

async function confirm(stack: string, yes: boolean, protectedStack: boolean): Promise<void> {
  if (yes || !protectedStack) return;
  if (!process.stdin.isTTY) throw new Error(`stack ${stack} is protected: re-run with --yes to confirm (CI), or from a terminal to be asked`);
  const prompt = createInterface({ input: process.stdin, output: process.stdout });
  const answer = await prompt.question(`stack ${stack} is protected: deploy these changes? [y/N] `);
  prompt.close();
  if (!/^y(es)?$/i.test(answer.trim())) throw new Error("nothing changed");
}

/** The commit that records a deploy in git: the stack file alone, with what changed. */
export function recordCommit(stack: string, changes: readonly { service: string; to: string }[]): { files: string[]; message: string } {
  return { files: [`Pulumi.${stack}.yaml`], message: `deploy ${stack}: ${changes.map((c) => `${c.service}=${c.to}`).join(" ")}` };
}

/** Commits the stack file (nothing else), as the deploy's record; the caller pushes. */
export function commitRecord(cwd: string, record: { files: string[]; message: string }): void {
  const git = (...args: string[]) => {
    const result = spawnSync("git", args, { cwd, encoding: "utf8" });
    if (result.status !== 0) throw new Error(`git ${args[0]} failed: ${(result.stderr || result.stdout).trim()}`);
    return result.stdout;
  };
  git("add", "--", ...record.files);
  if (git("diff", "--cached", "--name-only").trim() === "") return; // already recorded
  git("commit", "--quiet", "-m", record.message, "--", ...record.files);
}

/** Sets the images, runs the update; on failure puts the config back to what still runs. */
async function ship(stack: string, config: StackConfig, images: DeployArgs["images"], options: ShipOptions): Promise<void> {
  const changes = plannedChanges(config, images).filter((c) => c.from !== c.to);
  if (changes.length === 0) {
    process.stdout.write(`${stack}: every service already runs the image given: nothing to do\n`);
    return;
  }
  for (const c of changes) process.stdout.write(`${stack}: ${c.service}: ${c.from} → ${c.to}\n`);
  const record = recordCommit(stack, changes);
  if (options.dryRun) {
    process.stdout.write(
      `${stack}: dry run: would set the config above, run pulumi up${options.record ? `, then commit ${record.files.join(" ")}: "${record.message}"` : ""}; nothing changed\n`,
    );
    return;
  }
  await confirm(stack, options.yes, isDataProtected(config.database, stack));
  const before = configuredServices(stack);
  const after = before.map((service, i) => {
    const change = changes.find((c) => c.index === i);
    return change ? { ...service, image: change.to } : service;
  });
  setServices(stack, after);
  const up = pulumi(stack, ["up", "--yes", "--skip-preview", "--color", "never"], true);
  if (up.status !== 0) {
    setServices(stack, before);
    throw new Error(`${stack}: pulumi up failed: the config is back to what still runs (${changes.map((c) => `${c.service}: ${c.from}`).join(", ")})`);
  }
  if (options.record) {
    commitRecord(process.cwd(), record);
    process.stdout.write(`${stack}: deployed and recorded: ${record.message}\n`);
  } else {
    process.stdout.write(`${stack}: deployed. Commit Pulumi.${stack}.yaml: it records what runs.\n`);
  }
}

async function deploy(argv: readonly string[]): Promise<void> {
  const args = parseDeployArgs(argv);
  const { config } = readStack(args.stack);
  await ship(args.stack, config, args.images, args);
}

async function rollback(argv: readonly string[]): Promise<void> {
  const args = parseRollbackArgs(argv);
  const { config, secrets } = readStack(args.stack);
  if (config.host.kind === "scaleway-container")
    throw new Error("rollback reads a host's audit log: on scaleway-container, pin the previous digest instead (docs/runbooks/rollback.md)");
  const service = args.service ?? config.services[0]!.name;
  const paths = stackContract(args.stack).paths;
  // One round trip: the owner's id on the first line, then the log.
  const read = onHost(args.stack, config, secrets, `cat ${homePath(paths.owner)} 2>/dev/null; echo; cat ${homePath(paths.auditLog)} 2>/dev/null || true`);
  const [owner = "", ...log] = read.stdout.split("\n");
  const found = previousImage(parseAuditLog(log.join("\n")), service, owner.trim());
  if (!found)
    throw new Error(`${args.stack}: no earlier image of ${service} served on this host (npm run ops -- audit -s ${args.stack}): nothing to roll back to`);
  process.stdout.write(`${args.stack}: ${service} serves ${found.current}; rolling back to ${found.previous}\n`);
  await ship(args.stack, config, [{ service, image: found.previous }], args);
}

runMain(module, () => (process.argv[2] === "rollback" ? rollback(process.argv.slice(3)) : deploy(process.argv.slice(3))));
