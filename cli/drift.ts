/**
 * npm run drift -- -s <stack>: does the environment still match its code and its state?
 *   1. pulumi refresh --preview-only --expect-no-changes  resources changed outside Pulumi (console, API)
 *   2. pulumi preview --expect-no-changes                 code or config not deployed yet
 *   3. the host's containers against the last deployment  containers stopped, replaced or edited by hand
 * Read-only: nothing is changed, not even the state. Exit 0 when all three agree, 1 on drift.
 *
 * npm run drift -- -s <stack> --repair: puts the host's containers back as the last deployment
 * left them, by running again the scripts, data, runtime, proxy, certificate and rollout commands
 * recorded in the state (each is idempotent: what matches is left alone; a rebuilt host gets them
 * all), then checks again.
 */
import { containerAccessories, sshServerKey, sshServers } from "../components/config/rules";
import { spawnSync } from "node:child_process";
import { StackConfig } from "../components/config/schema";
import { HostSlot, repairSteps } from "../components/runtime/contract";
import { onEveryHost, onHost, readStack, runtimeAction } from "./host";
import { pulumiCliEnv } from "./pulumi";
import { runMain, takeFlag, takeStack } from "./args";

export interface DriftArgs {
  readonly stack: string;
  readonly repair: boolean;
}

/** Parses `-s <stack>`; throws the usage on anything else. */
export function parseDriftArgs(argv: readonly string[]): DriftArgs {
  const usage = "usage: npm run drift -- -s <stack> [--repair]";
  const rest = [...argv];
  const repair = takeFlag(rest, "--repair");
  const stack = takeStack(rest, usage);
  if (rest.length > 0) throw new Error(`${usage}\n(unexpected: ${rest.join(" ")})`);
  return { stack, repair };
}

/** A command resource of the state, as recorded by the last deployment. */
interface RecordedCommand {
  readonly urn: string;
  readonly create: string;
  readonly stdin?: string;
}

/** A resource of `pulumi stack export`. */
export interface StateResource {
  readonly urn: string;
  readonly type: string;
  readonly inputs?: Record<string, unknown>;
  readonly delete?: boolean;
  readonly pendingReplacement?: boolean;
}

/** A value of `pulumi stack export --show-secrets`: plain, or a secret `{ <sig>, plaintext: "<JSON>" }`. */
function revealed(value: unknown): unknown {
  if (value !== null && typeof value === "object" && "plaintext" in value && typeof value.plaintext === "string") return JSON.parse(value.plaintext);
  return value;
}

/**
 * The commands `--repair` replays (the host contract's `repairSteps`: scripts, data, runtime, edge,
 * certificate, each service's rollout), found by their exact resource names, in that order. A
 * required step missing from the state is an error, never a silent skip.
 */
export function replayableCommands(
  resources: readonly StateResource[],
  stack: string,
  services: readonly string[],
  registries: readonly string[] = [],
  accessories: readonly string[] = [],
  host?: HostSlot,
): RecordedCommand[] {
  // Resources pending deletion or replacement belong to an interrupted update, not to the deployment.
  const commands = resources.filter((r) => (r.type === "command:local:Command" || r.type === "command:remote:Command") && !r.delete && !r.pendingReplacement);
  return repairSteps(stack, services, registries, accessories, host).flatMap(({ name, optional }) => {
    const found = commands.find((r) => r.urn.endsWith(`::${name}`));
    if (!found && optional) return [];
    if (!found) throw new Error(`--repair: the state of ${stack} has no step ${name}: deploy first (pulumi up -s ${stack})`);
    const create = revealed(found.inputs?.create);
    const stdin = revealed(found.inputs?.stdin);
    if (typeof create !== "string") throw new Error(`${found.urn}: no create command in the state`);
    return [{ urn: found.urn, create, stdin: typeof stdin === "string" ? stdin : undefined }];
  });
}

/** One check's verdict, for the summary. */
interface Check {
  readonly name: string;
  readonly drift: boolean;
  readonly fix: string;
}

function section(title: string): void {
  process.stdout.write(`\n=== ${title}\n`);
}

function pulumi(stack: string, args: string[]): number {
  const result = spawnSync("pulumi", [...args, "--stack", stack, "--non-interactive", "--diff"], { stdio: "inherit", env: pulumiCliEnv(stack) });
  return result.status ?? 1;
}

function repair(stack: string, config: StackConfig, secrets: Record<string, string>): void {
  const exported = spawnSync("pulumi", ["stack", "export", "--show-secrets", "--stack", stack], {
    env: pulumiCliEnv(stack),
    encoding: "utf8",
    maxBuffer: 256 << 20,
  });
  if (exported.status !== 0) throw new Error(`cannot read the state of ${stack}: ${exported.stderr}`);
  const resources = (JSON.parse(exported.stdout) as { deployment: { resources?: StateResource[] } }).deployment.resources ?? [];
  onEveryHost(config, ({ number, count }) => {
    for (const command of replayableCommands(
      resources,
      stack,
      config.services.map((s) => s.name),
      config.registries.map((r) => r.address),
      containerAccessories(config).map((a) => a.name),
      { index: number - 1, count, key: config.host.kind === "ssh" && count > 1 ? sshServerKey(sshServers(config.host)[number - 1]!) : undefined },
    )) {
      section(`repair: ${command.urn.split("::").pop()}`);
      // Secrets (the database password, the services' env) travel on stdin, as in a deployment.
      // PERMACOOP_REPAIR: the scripts leave alone what a newer deployment has put there since.
      const result = onHost(stack, config, secrets, `export PERMACOOP_REPAIR=1; ${command.create}`, false, command.stdin ?? "");
      process.stdout.write(result.stdout);
      if (result.status !== 0) throw new Error(`repair of ${command.urn} failed (exit ${result.status}): the steps above say why`);
    }
  });
}

function main(): void {
  const args = parseDriftArgs(process.argv.slice(2));
  const { stack } = args;
  const { config, secrets } = readStack(stack);
  if (args.repair) {
    if (config.host.kind === "scaleway-container")
      throw new Error("--repair: a scaleway-container stack has no host; pulumi up -s <stack> --refresh puts the containers back");
    repair(stack, config, secrets);
  }
  const checks: Check[] = [];

  section("1/3 resources changed outside Pulumi (refresh, preview only)");
  checks.push({
    name: "cloud resources",
    drift: pulumi(stack, ["refresh", "--preview-only", "--expect-no-changes"]) !== 0,
    fix: `bring them back with: pulumi up -s ${stack} --refresh (or accept them: pulumi refresh -s ${stack})`,
  });

  section("2/3 code and configuration not deployed yet (preview)");
  checks.push({ name: "code and config", drift: pulumi(stack, ["preview", "--expect-no-changes"]) !== 0, fix: `deploy them: pulumi up -s ${stack}` });

  if (config.host.kind === "scaleway-container") {
    section("3/3 host containers: none (the platform runs them; step 1 covers them)");
  } else {
    section("3/3 containers on the host against the last deployment");
    onEveryHost(config, ({ number, count }) => {
      if (count > 1) process.stdout.write(`--- host ${number}\n`);
      const verify = runtimeAction(stack, config, secrets, "verify");
      process.stdout.write(verify.stdout);
      checks.push({
        name: count > 1 ? `host ${number} containers` : "host containers",
        drift: verify.status !== 0,
        fix: `put them back as deployed: npm run drift -- -s ${stack} --repair (what happened: npm run ops -- status|logs|audit -s ${stack}${count > 1 ? ` --host ${number}` : ""})`,
      });
    });
  }

  const drifted = checks.filter((c) => c.drift);
  section(drifted.length === 0 ? `no drift: ${stack} matches its code and state` : `DRIFT in ${stack}`);
  for (const check of drifted) process.stdout.write(`- ${check.name}: ${check.fix}\n`);
  process.exitCode = drifted.length === 0 ? 0 : 1;
}

runMain(module, main);
