import { spawn } from "node:child_process";

/** What the load generator saw. A failure is a non-2xx/3xx answer, a socket error or a timeout. */
export interface LoadResult {
  readonly total: number;
  readonly failed: number;
  readonly detail: string;
  /** wrk's "Requests/sec". */
  readonly requestsPerSecond: number;
  /** The median latency in milliseconds (with `latency: true`; NaN otherwise). */
  readonly p50Ms: number;
}

/** wrk's duration ("812.00us", "3.21ms", "1.02s") in milliseconds. */
function wrkMs(value: string, unit: string): number {
  return Number(value) * ({ us: 0.001, ms: 1, s: 1000, m: 60000 } as Record<string, number>)[unit]!;
}

/** Parses wrk's summary. */
export function parseWrk(output: string): LoadResult {
  const total = Number(/(\d+) requests in/.exec(output)?.[1] ?? NaN);
  if (Number.isNaN(total)) throw new Error(`cannot read wrk's summary:\n${output}`);
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(output);
  const socketErrors = socket ? socket.slice(1).reduce((sum, n) => sum + Number(n), 0) : 0;
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(output)?.[1] ?? 0);
  const p50 = /^\s+50%\s+([\d.]+)(us|ms|s|m)$/m.exec(output);
  return {
    total,
    failed: socketErrors + non2xx,
    detail: output.trim(),
    requestsPerSecond: Number(/Requests\/sec:\s+([\d.]+)/.exec(output)?.[1] ?? NaN),
    p50Ms: p50 ? wrkMs(p50[1]!, p50[2]!) : Number.NaN,
  };
}

/**
 * Starts wrk against `url` on loopback or a test host (bounded: at most `maxSeconds`). `keepAlive: false`
 * sends `Connection: close`, so every request opens a fresh connection. `stop()` interrupts
 * it and resolves with its counts.
 */
export function startLoad(
  url: string,
  options: { keepAlive: boolean; connections?: number; maxSeconds?: number; latency?: boolean },
): { stop(): Promise<LoadResult> } {
  // Loopback, or a test host this machine created (tools/test-hosts.sh: 10.231.<index>.2): nothing else.
  if (!/^http:\/\/(127\.\d+\.\d+\.\d+|localhost|\[::1\]|10\.231\.[1-9]\.2)[:/]/.test(url))
    throw new Error(`load is only sent to loopback or this machine's test hosts, not ${url}`);
  const args = ["-t", "2", "-c", String(options.connections ?? 16), "-d", `${options.maxSeconds ?? 120}s`, "--timeout", "10s"];
  if (!options.keepAlive) args.push("-H", "Connection: close");
  if (options.latency) args.push("--latency");
  const child = spawn("wrk", [...args, url], { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout.on("data", (chunk) => (output += chunk));
  child.stderr.on("data", (chunk) => (output += chunk));
  const exited = new Promise<void>((resolve, reject) => {
    child.on("error", (error) => reject((error as { code?: string }).code === "ENOENT" ? new Error("wrk is not installed: apt-get install wrk") : error));
    child.on("exit", () => resolve());
  });
  return {
    async stop() {
      child.kill("SIGINT"); // wrk prints its summary on SIGINT
      await exited;
      return parseWrk(output);
    },
  };
}
