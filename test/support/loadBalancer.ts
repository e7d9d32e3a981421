/**
 * A local stand-in for the Scaleway Load Balancer in front of several hosts: Debian's HAProxy
 * (the Scaleway LB is HAProxy-based), run as a process of this machine with a generated config,
 * listening on loopback. Each setting maps to the Scaleway LB's (docs/design/multi-host-research.md
 * §5; the console's/docs' defaults, which the research recommends setting explicitly):
 *
 * | HAProxy                                   | Scaleway (`loadbalancers.Backend`)                              |
 * | ----------------------------------------- | --------------------------------------------------------------- |
 * | `option httpchk` + `http-check send …`    | `healthCheckHttp: { uri: healthPath, method: "GET", hostHeader }` |
 * | `http-check expect status 200`            | `healthCheckHttp.code: 200`                                     |
 * | `inter 3s`                                | `healthCheckDelay: "3s"`                                        |
 * | `timeout check 1s`                        | `healthCheckTimeout: "1s"`                                      |
 * | `fall 3`                                  | `healthCheckMaxRetries: 3`                                      |
 * | `fastinter 500ms`, `rise 2`               | `healthCheckTransientDelay: "0.5s"` (DOWN→UP: two successes)    |
 * | `on-marked-down shutdown-sessions`        | `onMarkedDownAction: "shutdown_sessions"`                       |
 * | `retries 3` + `retry-on conn-failure`     | `maxRetries: 3`: retries to establish a connection only         |
 * | `option redispatch 1`                     | `redispatchAttemptCount: 1`: each retry on another server       |
 * | `timeout connect 5s` / `server 60s`       | `timeoutConnect: "5s"` / `timeoutServer: "60s"`                 |
 * | `timeout client 30s`                      | the frontend's `timeoutClient` (default 30s)                    |
 * | `balance roundrobin`                      | `forwardPortAlgorithm: "roundrobin"`                            |
 *
 * A request already sent to a server that then dies is not replayed elsewhere (as on Scaleway):
 * only connection failures are retried.
 */
import { ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface LoadBalancer {
  /** `http://127.0.0.1:<port>`: where clients send requests. */
  readonly url: string;
  /** Each server's state as HAProxy sees it now (`UP`, `DOWN`, `UP 1/2`…), by server name (`host1`…). */
  states(): Promise<Record<string, string>>;
  /** Resolves with the states once `done(states)` holds; throws after `timeoutMs`. */
  until(done: (states: Record<string, string>) => boolean, timeoutMs: number): Promise<Record<string, string>>;
  stop(): Promise<void>;
}

export interface LoadBalancerOptions {
  readonly port: number;
  /** Where the stats page listens (how a test reads each server's state). */
  readonly statsPort: number;
  /** The hosts' edges, `address:port`, in order (named host1, host2…). */
  readonly servers: readonly string[];
  readonly healthPath: string;
  /** The Host header of the health check (`healthCheckHttp.hostHeader`). */
  readonly hostHeader: string;
}

export function renderLoadBalancerConfig(options: LoadBalancerOptions): string {
  return [
    "global",
    "  maxconn 4096",
    "defaults",
    "  mode http",
    "  timeout connect 5s",
    "  timeout client 30s",
    "  timeout server 60s",
    "  retries 3",
    "  retry-on conn-failure",
    "  option redispatch 1",
    "frontend lb",
    `  bind 127.0.0.1:${options.port}`,
    "  default_backend hosts",
    "frontend stats",
    `  bind 127.0.0.1:${options.statsPort}`,
    "  stats enable",
    "  stats uri /stats",
    "backend hosts",
    "  balance roundrobin",
    "  option forwardfor",
    "  option httpchk",
    `  http-check send meth GET uri ${options.healthPath} ver HTTP/1.1 hdr Host ${options.hostHeader}`,
    "  http-check expect status 200",
    "  timeout check 1s",
    "  default-server check inter 3s fastinter 500ms fall 3 rise 2 on-marked-down shutdown-sessions",
    ...options.servers.map((server, i) => `  server host${i + 1} ${server}`),
    "",
  ].join("\n");
}

/** Starts HAProxy with the stand-in's config; resolves once its stats page answers. */
export async function startLoadBalancer(options: LoadBalancerOptions): Promise<LoadBalancer> {
  const dir = mkdtempSync(join(tmpdir(), "permacoop-e2e-lb-"));
  const configFile = join(dir, "haproxy.cfg");
  writeFileSync(configFile, renderLoadBalancerConfig(options));
  let output = "";
  const child: ChildProcess = spawn("/usr/sbin/haproxy", ["-db", "-f", configFile], { stdio: ["ignore", "pipe", "pipe"] });
  child.stdout!.on("data", (chunk) => (output += chunk));
  child.stderr!.on("data", (chunk) => (output += chunk));
  const exited = new Promise<void>((resolve) => child.on("exit", () => resolve()));
  const states = async (): Promise<Record<string, string>> => {
    const response = await fetch(`http://127.0.0.1:${options.statsPort}/stats;csv`);
    const lines = (await response.text()).split("\n");
    const header = lines[0]!.replace(/^# /, "").split(",");
    const [px, sv, status] = ["pxname", "svname", "status"].map((name) => header.indexOf(name));
    return Object.fromEntries(
      lines
        .slice(1)
        .map((line) => line.split(","))
        .filter((row) => row[px!] === "hosts" && row[sv!]?.startsWith("host"))
        .map((row) => [row[sv!]!, row[status!]!]),
    );
  };
  const until = async (done: (states: Record<string, string>) => boolean, timeoutMs: number) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`haproxy exited (${child.exitCode}):\n${output}`);
      const now = await states().catch(() => ({}) as Record<string, string>);
      if (Object.keys(now).length === options.servers.length && done(now)) return now;
      if (Date.now() > deadline) throw new Error(`the load balancer's servers: ${JSON.stringify(now)} after ${timeoutMs} ms\n${output}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };
  const lb: LoadBalancer = {
    url: `http://127.0.0.1:${options.port}`,
    states,
    until,
    async stop() {
      if (child.exitCode === null) child.kill("SIGTERM");
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    await until(() => true, 10_000);
  } catch (error) {
    await lb.stop();
    throw error;
  }
  return lb;
}
