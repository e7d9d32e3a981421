/**
 * Day-2 commands on an environment's host — the seeds' troubleshooting sections as commands:
 *   npm run ops -- status -s <stack>            containers, each service's live version and health, maintenance mode, certificate expiry
 *   npm run ops -- logs   -s <stack> [service]  the last 200 lines of the live container (default: the first service)
 *   npm run ops -- exec   -s <stack> [service]  a shell in the live container
 *   npm run ops -- psql   -s <stack>            a psql session on the PostgreSQL container
 *   npm run ops -- audit  -s <stack>            the rollout audit log of the host
 * Works on `local`, `ssh` and `scaleway-vm` hosts (cli/host.ts reaches them).
 * The `local` stack uses .pulumi-local/ and the dev passphrase, as `npm run local` does.
 */
import { X509Certificate } from "node:crypto";
import { switchServiceFile } from "../components/proxy/haproxy";
import { describeMaintenanceFlag, MAINTENANCE_FLAG_FILE } from "../components/proxy/maintenance";
import { CERT_DIR } from "../components/proxy/nginx";
import { HostContract, homePath } from "../components/runtime/contract";
import { shellQuote } from "../components/runtime/shell";
import { onHost, readStack, stackContract } from "./host";
import { runMain, takeStack } from "./args";

const ACTIONS = ["status", "logs", "exec", "psql", "audit"] as const;
type Action = (typeof ACTIONS)[number];

export interface OpsArgs {
  readonly action: Action;
  readonly stack: string;
  readonly service?: string;
}

/** Parses `<action> -s <stack> [service]`; throws a usage message on anything else. */
export function parseOpsArgs(argv: readonly string[]): OpsArgs {
  const usage = `usage: npm run ops -- <${ACTIONS.join("|")}> -s <stack> [service]`;
  const rest = [...argv];
  const action = rest.shift();
  if (!action || !(ACTIONS as readonly string[]).includes(action)) throw new Error(`${usage}\n(unknown action: ${action ?? "none"})`);
  const stack = takeStack(rest, usage);
  if (rest.length > 1) throw new Error(`${usage}\n(unexpected: ${rest.slice(1).join(" ")})`);
  return { action: action as Action, stack, service: rest[0] };
}

function liveContainer(names: HostContract, service: string): string {
  return `docker exec ${names.switchContainer} sed -n 's/^# live: //p' ${switchServiceFile(service)}`;
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
  const names = stackContract(args.stack);
  const service = config.services.find((s) => s.name === (args.service ?? config.services[0]?.name));
  if (!service) throw new Error(`ops: no service ${args.service} in stack ${args.stack} (services: ${config.services.map((s) => s.name).join(", ")})`);
  const run = (command: string, interactive = false) => {
    const result = onHost(args.stack, config, secrets, command, interactive);
    if (result.status !== 0) process.exitCode = result.status;
    return result.stdout;
  };
  switch (args.action) {
    case "status": {
      process.stdout.write(run(`docker ps -a --filter label=${shellQuote(names.envLabel)} --format 'table {{.Names}}\\t{{.Status}}\\t{{.Image}}'`));
      for (const s of config.services) {
        const live = run(liveContainer(names, s.name)).trim();
        const probe = live ? run(healthProbe(names.network, live, s.port, s.healthPath)).trim() : "";
        process.stdout.write(`service ${s.name}: live ${live || "none"}; ${s.healthPath} → ${probe || "no answer"}\n`);
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
          "ops psql: the database is managed by Scaleway: connect from the host with the DATABASE_* of `pulumi stack output --show-secrets serviceEnv`",
        );
      run(`docker exec -it ${names.dbContainer} psql -U ${shellQuote(config.database.user)} -d ${shellQuote(config.database.name)}`, true);
      break;
    case "audit":
      process.stdout.write(run(`cat ${homePath(names.paths.auditLog)} 2>/dev/null || echo "no rollout recorded on this host yet"`));
      break;
  }
}

runMain(module, main);
