/**
 * Day-2 commands on an environment's host — the seeds' troubleshooting sections as commands:
 * With several hosts, `--host <address|number>` picks one (default the first).
 *   npm run ops -- status -s <stack>            containers, each service's live version and health, maintenance mode, certificate expiry
 *   npm run ops -- logs   -s <stack> [service]  the last 200 lines of the live container (default: the first service)
 *   npm run ops -- exec   -s <stack> [service]  a shell in the live container
 *   npm run ops -- psql   -s <stack>            a psql session on the PostgreSQL container
 *   npm run ops -- audit  -s <stack>            the rollout audit log of the host
 *   npm run ops -- jobs   -s <stack> [job]      each scheduled job's schedule and the end of its log (one job: more of it)
 *   npm run ops -- run    -s <stack> <service> -- <command...>
 *                                               a one-off container of the service's live image, with its environment
 *                                               (attached; a terminal when there is one): the command's exit code
 * Works on `local`, `ssh` and `scaleway-vm` hosts (cli/host.ts reaches them).
 * The `local` stack uses .pulumi-local/ and the dev passphrase, as `npm run local` does.
 */
import { X509Certificate } from "node:crypto";
import { switchServiceFile } from "../components/proxy/haproxy";
import { describeMaintenanceFlag, MAINTENANCE_FLAG_FILE } from "../components/proxy/maintenance";
import { CERT_DIR } from "../components/proxy/nginx";
import { HostContract, homePath, jobLogPath } from "../components/runtime/contract";
import { shellQuote } from "../components/runtime/shell";
import { hostCount } from "../components/config/rules";
import { chooseHost, onHost, readStack, stackContract } from "./host";
import { runMain, takeStack } from "./args";

const ACTIONS = ["status", "logs", "exec", "psql", "audit", "jobs", "run"] as const;
type Action = (typeof ACTIONS)[number];

export interface OpsArgs {
  readonly action: Action;
  readonly stack: string;
  /** The service (`logs`, `exec`, `run`), or the job (`jobs`). */
  readonly service?: string;
  /** `run`: the command line, run by `sh -c`. */
  readonly command?: string;
  /** Which of several hosts (`--host <address|number>`). Default the first. */
  readonly host?: string;
}

/**
 * The command line of `run`'s words: one word holding a space is a command line already
 * (`-- "make report && echo done"`); several words are quoted each (`-- rails runner 'puts 1'`).
 */
export function commandLine(words: readonly string[]): string {
  return words.length === 1 && /\s/.test(words[0]!) ? words[0]! : words.map(shellQuote).join(" ");
}

/** Parses `<action> -s <stack> [service]` (`run`: `<service> -- <command...>`); throws a usage message on anything else. */
export function parseOpsArgs(argv: readonly string[]): OpsArgs {
  const usage = `usage: npm run ops -- <${ACTIONS.join("|")}> -s <stack> [--host <address|number>] [service]   (run: -s <stack> <service> -- <command...>)`;
  const rest = [...argv];
  const action = rest.shift();
  if (!action || !(ACTIONS as readonly string[]).includes(action)) throw new Error(`${usage}\n(unknown action: ${action ?? "none"})`);
  // What follows `--` is the command, whatever it holds (-s included).
  const separator = rest.indexOf("--");
  const words = separator >= 0 ? rest.splice(separator).slice(1) : [];
  const stack = takeStack(rest, usage);
  const hostAt = rest.indexOf("--host");
  const host = hostAt >= 0 ? rest[hostAt + 1] : undefined;
  if (hostAt >= 0 && (!host || host.startsWith("-"))) throw new Error(`${usage}\n(--host: which host? its address, or its number from 1)`);
  if (hostAt >= 0) rest.splice(hostAt, 2);
  const chosen = host === undefined ? {} : { host };
  if (rest.length > 1) throw new Error(`${usage}\n(unexpected: ${rest.slice(1).join(" ")})`);
  if (action === "run") {
    if (rest.length === 0) throw new Error(`${usage}\n(run: which service? e.g. npm run ops -- run -s ${stack} app -- sh)`);
    if (words.length === 0 || words.join("").trim() === "")
      throw new Error(`${usage}\n(run: the command after --, e.g. npm run ops -- run -s ${stack} ${rest[0]} -- sh)`);
    return { action, stack, service: rest[0], command: commandLine(words), ...chosen };
  }
  if (separator >= 0) throw new Error(`${usage}\n(-- <command> goes with run only)`);
  return { action: action as Action, stack, service: rest[0], ...chosen };
}

/** The host command printing the service's live containers, one per replica, space-separated. */
function liveContainers(names: HostContract, service: string): string {
  return `docker exec ${names.switchContainer} sed -n 's/^# live: //p' ${switchServiceFile(service)}`;
}

/** The host command printing the first of them that runs (logs, exec: a killed replica has no shell), else the first. */
export function liveContainer(names: HostContract, service: string): string {
  return `l=$(${liveContainers(names, service)}); r=; for c in $l; do if [ "$(docker inspect -f '{{.State.Running}}' "$c" 2>/dev/null)" = true ]; then r=$c; break; fi; done; echo "\${r:-\${l%% *}}"`;
}

/**
 * The host command printing the HTTP status of a live container's health path. The path is data,
 * quoted as a whole: never expanded by the host's shell, nor globbed by curl.
 */
export function healthProbe(network: string, container: string, port: number, healthPath: string): string {
  const address = `$(docker inspect -f ${shellQuote(`{{(index .NetworkSettings.Networks "${network}").IPAddress}}`)} ${shellQuote(container)})`;
  return `curl --globoff -s -o /dev/null -w '%{http_code}' --max-time 5 "http://${address}:${port}"${shellQuote(healthPath)} || true`;
}

function main(): void {
  const args = parseOpsArgs(process.argv.slice(2));
  const { config, secrets } = readStack(args.stack);
  // One host: --host may name it (1), and changes nothing.
  if (args.host !== undefined && hostCount(config.host) <= 1 && args.host !== "1")
    throw new Error(`--host ${args.host}: stack ${args.stack} has one host (--host 1, or none)`);
  chooseHost(hostCount(config.host) > 1 ? args.host : undefined);
  const names = stackContract(args.stack);
  const run = (command: string, interactive = false) => {
    const result = onHost(args.stack, config, secrets, command, interactive);
    if (result.status !== 0) process.exitCode = result.status;
    return result.stdout;
  };
  if (args.action === "jobs") {
    const jobs = config.jobs.filter((job) => args.service === undefined || job.name === args.service);
    if (args.service !== undefined && jobs.length === 0)
      throw new Error(`ops jobs: no job ${args.service} in stack ${args.stack} (jobs: ${config.jobs.map((j) => j.name).join(", ") || "none"})`);
    if (jobs.length === 0) process.stdout.write(`stack ${args.stack} declares no jobs (permacoop:jobs)\n`);
    for (const job of jobs) {
      const log = homePath(jobLogPath(names, job.name));
      process.stdout.write(`job ${job.name} (${job.schedule}, service ${job.service}): ${job.command}\n`);
      process.stdout.write(run(`tail -n ${args.service ? 200 : 12} ${log} 2>/dev/null || echo "    no run yet"`));
    }
    return;
  }
  const service = config.services.find((s) => s.name === (args.service ?? config.services[0]?.name));
  if (!service) throw new Error(`ops: no service ${args.service} in stack ${args.stack} (services: ${config.services.map((s) => s.name).join(", ")})`);
  switch (args.action) {
    case "status": {
      process.stdout.write(run(`docker ps -a --filter label=${shellQuote(names.envLabel)} --format 'table {{.Names}}\\t{{.Status}}\\t{{.Image}}'`));
      for (const s of config.services) {
        const live = run(liveContainers(names, s.name)).trim().split(" ").filter(Boolean);
        if (live.length === 0) process.stdout.write(`service ${s.name}: live none\n`);
        for (const container of live) {
          const probe = run(healthProbe(names.network, container, s.port, s.healthPath)).trim();
          process.stdout.write(`service ${s.name}: live ${container}; ${s.healthPath} → ${probe || "no answer"}\n`);
        }
      }
      process.stdout.write(`${describeMaintenanceFlag(run(`docker exec ${names.edgeContainer} cat ${MAINTENANCE_FLAG_FILE} 2>/dev/null || true`))}\n`);
      if (config.tls.enabled) {
        const pem = run(`docker exec ${names.edgeContainer} cat ${CERT_DIR}/fullchain.pem 2>/dev/null || true`);
        if (!pem.includes("BEGIN CERTIFICATE")) process.stdout.write("certificate: none yet (HTTP only)\n");
        else {
          const cert = new X509Certificate(pem);
          const days = Math.floor((Date.parse(cert.validTo) - Date.now()) / 86_400_000);
          process.stdout.write(`certificate: ${cert.subjectAltName}; expires ${cert.validTo} (${days} days)\n`);
        }
      }
      break;
    }
    case "logs":
      process.stdout.write(run(`docker logs --tail 200 "$(${liveContainer(names, service.name)})" 2>&1`));
      break;
    case "exec":
      run(`docker exec -it "$(${liveContainer(names, service.name)})" sh`, true);
      break;
    case "psql":
      if (config.database.kind !== "container")
        throw new Error(
          `ops psql: the database is ${config.database.kind === "external" ? `external (${config.database.host})` : "managed by Scaleway"}: connect from the host with the DATABASE_* of \`pulumi stack output --show-secrets serviceEnv\``,
        );
      run(`docker exec -it ${names.dbContainer} psql -U ${shellQuote(config.database.user)} -d ${shellQuote(config.database.name)}`, true);
      break;
    case "run":
      // Attached: its output is the terminal's, its exit code this command's.
      run(`bash ${homePath(names.paths.runtime)} run ${shellQuote(service.name)} ${shellQuote(args.command!)}`, true);
      break;
    case "audit":
      process.stdout.write(run(`cat ${homePath(names.paths.auditLog)} 2>/dev/null || echo "no rollout recorded on this host yet"`));
      break;
  }
}

runMain(module, main);
