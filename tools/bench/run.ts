/**
 * Benchmarks: one JSON object per line, {"metric", "value", "unit"}.
 * Run: npm run bench   (needs the toolchain: tools/toolchain.sh builds it if missing)
 *      npm run bench -- --multihost   several hosts behind a load balancer only (root: test hosts)
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LocalWorkspace } from "@pulumi/pulumi/automation";
import { execFileSync } from "node:child_process";
import { switchServiceFile } from "../../components/proxy/haproxy";
import { HostContract, hostContract, LABELS } from "../../components/runtime/contract";
import { ConfigEntry, createTestStack, DUMMY_SCALEWAY_ENV, freePort, httpGet, testPulumiCliEnv } from "../../test/e2e/harness";
import { startLoad } from "../../test/support/load";
import { stackConfig, PROJECT_DIR } from "../../test/support/stackFiles";

function report(metric: string, value: number, unit: string): void {
  process.stdout.write(`${JSON.stringify({ metric, value: Math.round(value * 1000) / 1000, unit })}\n`);
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const start = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - start) / 1e9;
}

/** Median of `runs` timings (the first run warms the plugin and module caches). */
async function median(runs: number, fn: () => Promise<unknown>): Promise<number> {
  await fn();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) times.push(await timed(fn));
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)] as number;
}

/**
 * The peak resident memory (MiB) of the processes whose command line names `dir` (the program the
 * engine runs from the project there) while `fn` runs: their VmHWM, sampled every 50 ms.
 */
async function peakRssMiB(dir: string, fn: () => Promise<unknown>): Promise<number> {
  let peak = 0;
  const sample = () => {
    for (const pid of readdirSync("/proc").filter((entry) => /^\d+$/.test(entry))) {
      try {
        if (!readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(dir)) continue;
        const kib = Number(/^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0);
        peak = Math.max(peak, kib / 1024);
      } catch {
        // the process ended between the listing and the read
      }
    }
  };
  const timer = setInterval(sample, 50);
  try {
    await fn();
  } finally {
    clearInterval(timer);
  }
  return peak;
}

async function previewProd(): Promise<{ seconds: number; peakRssMiB: number }> {
  const { structured, secretKeys } = stackConfig("prod");
  const config = Object.fromEntries(
    Object.entries(structured).map(([key, value]) => [key, secretKeys.includes(key) ? { value: "bench", secret: true } : { value }]),
  );
  const test = await createTestStack("prod", config, DUMMY_SCALEWAY_ENV);
  try {
    const seconds = await median(3, () => test.stack.preview({ color: "never" }));
    return { seconds, peakRssMiB: await peakRssMiB(test.workDir, () => test.stack.preview({ color: "never" })) };
  } finally {
    await test.dispose();
  }
}

/** The engine's floor: an empty nodejs program, in the same backend setup, previewed and updated. */
async function emptyProgram(): Promise<{ preview: number; up: number }> {
  const dir = mkdtempSync(join(tmpdir(), "permacoop-bench-empty-"));
  try {
    const workDir = join(dir, "project");
    mkdirSync(workDir);
    mkdirSync(join(dir, "backend"));
    writeFileSync(join(workDir, "Pulumi.yaml"), "name: empty\nruntime:\n  name: nodejs\n  options:\n    typescript: false\nmain: index.js\n");
    writeFileSync(join(workDir, "index.js"), "module.exports = {};\n");
    symlinkSync(join(PROJECT_DIR, "node_modules"), join(workDir, "node_modules"));
    const envVars = testPulumiCliEnv(join(dir, "backend"));
    const stack = await LocalWorkspace.createStack({ stackName: "empty", workDir }, { envVars, pulumiHome: envVars.PULUMI_HOME });
    return { preview: await median(3, () => stack.preview({ color: "never" })), up: await median(3, () => stack.up({ color: "never" })) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Seconds a rollout script reported for itself ("done in X s") and for the app ("healthy after X s"). */
function rolloutTimings(output: string): { rollout: number; ready: number } {
  const rollout = Number(/done in ([\d.]+)s: \S+ is served by/.exec(output)?.[1]);
  const ready = Number(/healthy after ([\d.]+)s/.exec(output)?.[1]);
  if (Number.isNaN(rollout) || Number.isNaN(ready)) throw new Error(`no rollout timings in the output:\n${output}`);
  return { rollout, ready };
}

/**
 * The app's own start-to-healthy time: a container of the image started by hand on the
 * environment's network, its health path polled every 20 ms.
 */
function appReadySeconds(image: string, network: string, env: Record<string, string>): number {
  const envArgs = Object.entries(env).flatMap(([k, v]) => ["-e", `${k}=${v}`]);
  const script = `
    start=$EPOCHREALTIME
    id=$(docker run -d --network ${network} ${envArgs.map((a) => `'${a}'`).join(" ")} ${image})
    ip=$(docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' "$id")
    until curl -fs -o /dev/null --max-time 1 "http://$ip:3000/healthz"; do sleep 0.02; done
    awk -v s="$start" -v e="$EPOCHREALTIME" 'BEGIN { printf "%.3f", e - s }'
    docker rm -f "$id" >/dev/null`;
  return Number(execFileSync("bash", ["-c", script], { encoding: "utf8" }));
}

/** wrk with 20 keep-alive connections for `seconds`: its requests per second and median latency. */
async function measure(url: string, seconds: number): Promise<{ rps: number; p50: number }> {
  const load = startLoad(url, { keepAlive: true, connections: 20, latency: true });
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  const seen = await load.stop();
  if (seen.failed > 0) throw new Error(`failed requests while measuring ${url}:\n${seen.detail}`);
  return { rps: seen.requestsPerSecond, p50: seen.p50Ms };
}

/**
 * The front door (edge and switch) against its floor, measured in turns in the same run: one nginx
 * with a keep-alive upstream to the same live app container (seed 002's shape).
 */
async function frontDoor(url: string, names: HostContract): Promise<void> {
  const live = execFileSync("docker", ["exec", names.switchContainer, "sed", "-n", "s/^# live: //p", switchServiceFile("app")], {
    encoding: "utf8",
  }).trim();
  const dir = mkdtempSync(join(tmpdir(), "permacoop-bench-nginx-"));
  const reference = `${names.prefix}-bench-reference`;
  const port = await freePort();
  writeFileSync(
    join(dir, "default.conf"),
    `upstream app { server ${live}:3000; keepalive 32; }\nserver {\n  listen 80;\n  location / { proxy_pass http://app; proxy_http_version 1.1; proxy_set_header Connection ""; proxy_set_header Host $host; }\n}\n`,
  );
  try {
    execFileSync(
      "docker",
      [
        "run",
        "-d",
        "--name",
        reference,
        "--network",
        names.network,
        "-p",
        `127.0.0.1:${port}:80`,
        "-v",
        `${dir}/default.conf:/etc/nginx/conf.d/default.conf:ro`,
        "nginx:stable",
      ],
      {
        stdio: "ignore",
      },
    );
    // The app's trivial path (no database round trip): what is measured is the proxies.
    const floor = `http://127.0.0.1:${port}/version`;
    const front = `${url}version`;
    for (
      let i = 0;
      i < 50 &&
      !(await httpGet(floor).then(
        (r) => r.status === 200,
        () => false,
      ));
      i++
    )
      await new Promise((resolve) => setTimeout(resolve, 100));
    await measure(floor, 2); // warm both paths
    await measure(front, 2);
    type Measured = { rps: number; p50: number };
    const rounds: { floor: Measured; front: Measured }[] = [];
    for (let i = 0; i < 2; i++) rounds.push({ floor: await measure(floor, 5), front: await measure(front, 5) });
    const best = (pick: (r: (typeof rounds)[number]) => Measured) => ({
      rps: Math.max(...rounds.map((r) => pick(r).rps)),
      p50: Math.min(...rounds.map((r) => pick(r).p50)),
    });
    const floorBest = best((r) => r.floor);
    const frontBest = best((r) => r.front);
    report("proxy_floor_requests_per_second", floorBest.rps, "req/s");
    report("proxy_requests_per_second", frontBest.rps, "req/s");
    report("proxy_throughput_ratio", frontBest.rps / floorBest.rps, "ratio");
    report("proxy_floor_p50_ms", floorBest.p50, "ms");
    report("proxy_added_p50_ms", frontBest.p50 - floorBest.p50, "ms");
  } finally {
    execFileSync("docker", ["rm", "-f", reference], { stdio: "ignore" });
    rmSync(dir, { recursive: true, force: true });
  }
}

async function rollouts(emptyUp: number): Promise<void> {
  const env = "benchlocal";
  const port = await freePort();
  const url = `http://127.0.0.1:${port}/`;
  execFileSync("bash", ["tools/local-images.sh"], { cwd: PROJECT_DIR, stdio: "ignore" });
  execFileSync("docker", ["build", "--quiet", "--tag", "permacoop/reference-app-bench:1", "app"], { cwd: PROJECT_DIR, stdio: "ignore" });
  const services = (version: string, extra: Record<string, unknown> = {}): ConfigEntry => ({
    value: [{ name: "app", image: "permacoop/reference-app-bench:1", pullPolicy: "never", port: 3000, env: { APP_VERSION: version }, ...extra }],
  });
  const test = await createTestStack(env, {
    "permacoop:host": { value: { kind: "local", httpPort: port } },
    "permacoop:database": { value: { kind: "container" } },
    "permacoop:dns": { value: { provider: "none", hostnames: ["localhost"] } },
    "permacoop:tls": { value: { enabled: false } },
    "permacoop:services": services("1"),
  });
  try {
    report("local_up_seconds", await timed(() => test.stack.up({ color: "never" })), "s");
    const names = hostContract(env, String((await test.stack.outputs()).envId?.value ?? env));
    const dbEnv = JSON.parse(
      execFileSync(
        "bash",
        ["-c", `docker inspect -f '{{json .Config.Env}}' $(docker ps -q --filter label=${names.envLabel} --filter label=${LABELS.service}=app)`],
        { encoding: "utf8" },
      ),
    ) as string[];
    const appEnv = Object.fromEntries(dbEnv.filter((e) => e.startsWith("DATABASE_")).map((e) => [e.slice(0, e.indexOf("=")), e.slice(e.indexOf("=") + 1)]));
    const appReady = appReadySeconds("permacoop/reference-app-bench:1", names.network, appEnv);
    report("app_ready_seconds", appReady, "s");

    // Nothing changed: what every `npm run local` and PR preview pays. Its floor: an empty program's up.
    const noop = await median(3, () => test.stack.up({ color: "never" }));
    report("noop_up_seconds", noop, "s");
    report("noop_up_over_empty_up_ratio", noop / emptyUp, "ratio");

    // One env value changed: from the start of `pulumi up` to the new version answering.
    await test.stack.setConfig("permacoop:services", { value: JSON.stringify(services("live").value) });
    const started = process.hrtime.bigint();
    let liveAfter = Number.NaN;
    let settled = false;
    const up = test.stack.up({ color: "never" }).finally(() => (settled = true));
    for (let wasSettled = false; Number.isNaN(liveAfter) && !wasSettled;) {
      wasSettled = settled; // one more look after the up ended, then give up
      const page = await httpGet(url).catch(() => undefined);
      if (page?.body.includes("version live")) liveAfter = Number(process.hrtime.bigint() - started) / 1e9;
      else await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await up;
    if (Number.isNaN(liveAfter)) throw new Error("the changed version never answered");
    report("env_change_live_seconds", liveAfter, "s");

    let version = 1;
    for (const keepAlive of [true, false]) {
      const suffix = keepAlive ? "keepalive" : "fresh";
      // The floor, under the same load as the rollout: the app's own start-to-healthy time while
      // the live version serves that load (the app boots slower on a busy machine).
      // The load in its steady state first (as during the rollout, which starts seconds into it),
      // then the median of 3 starts.
      const floorLoad = startLoad(url, { keepAlive, connections: 64 });
      await new Promise((resolve) => setTimeout(resolve, 1000));
      const readyTimes = [0, 1, 2].map(() => appReadySeconds("permacoop/reference-app-bench:1", names.network, appEnv)).sort((a, b) => a - b);
      const appReadyLoaded = readyTimes[1] as number;
      await floorLoad.stop();
      report(`app_ready_under_load_seconds_${suffix}`, appReadyLoaded, "s");
      // A healthy rollout under load.
      version += 1;
      await test.stack.setConfig("permacoop:services", { value: JSON.stringify(services(String(version)).value) });
      let output = "";
      const load = startLoad(url, { keepAlive, connections: 64 });
      await test.stack.up({ color: "never", onOutput: (o) => (output += o) });
      const seen = await load.stop();
      const { rollout, ready } = rolloutTimings(output);
      // Where the rollout's time goes: when each step started (the rollout's own log).
      const steps = [...output.matchAll(/step \d+ ([a-z-]+) \(\+([\d.]+)s\)/g)].map(([, name, at]) => `${name} +${at}s`);
      process.stderr.write(`[bench] ${suffix} rollout steps: ${[...new Set(steps)].join(", ")}; done +${rollout}s\n`);
      if (seen.failed > 0) process.stderr.write(`failed requests during the ${suffix} rollout:\n${seen.detail}\n`);
      report(`rollout_failed_requests_${suffix}`, seen.failed, "requests");
      report(`rollout_total_requests_${suffix}`, seen.total, "requests");
      report(`rollout_seconds_${suffix}`, rollout, "s");
      report(`rollout_health_wait_seconds_${suffix}`, ready, "s");
      report(`rollout_overhead_seconds_${suffix}`, rollout - appReadyLoaded, "s");

      // An unhealthy rollout under load: up fails, traffic stays on the live version.
      version += 1;
      await test.stack.setConfig("permacoop:services", {
        value: JSON.stringify(
          services(String(version), { env: { APP_VERSION: String(version), FAIL_HEALTH: "1" }, healthCheck: { deadlineSeconds: 5 } }).value,
        ),
      });
      const badLoad = startLoad(url, { keepAlive, connections: 64 });
      const failed = await test.stack.up({ color: "never" }).then(
        () => false,
        () => true,
      );
      const badSeen = await badLoad.stop();
      if (!failed) throw new Error("the unhealthy rollout did not fail");
      if (badSeen.failed > 0) process.stderr.write(`failed requests during the unhealthy ${suffix} rollout:\n${badSeen.detail}\n`);
      report(`unhealthy_rollout_failed_requests_${suffix}`, badSeen.failed, "requests");
      report(`unhealthy_rollout_total_requests_${suffix}`, badSeen.total, "requests");
    }

    // A rollout with a release command (migrations) under keep-alive load: the release runs in a
    // one-off container before the new version takes traffic.
    version += 1;
    await test.stack.setConfig("permacoop:services", { value: JSON.stringify(services(String(version), { release: { command: "node migrate.js" } }).value) });
    let output = "";
    const load = startLoad(url, { keepAlive: true, connections: 64 });
    await test.stack.up({ color: "never", onOutput: (o) => (output += o) });
    const seen = await load.stop();
    const release = Number(/release done in ([\d.]+)s/.exec(output)?.[1]);
    if (Number.isNaN(release)) throw new Error(`the release did not run:\n${output}`);
    if (seen.failed > 0) process.stderr.write(`failed requests during the rollout with a release:\n${seen.detail}\n`);
    report("release_rollout_failed_requests", seen.failed, "requests");
    report("release_rollout_total_requests", seen.total, "requests");
    report("release_seconds", release, "s");
    report("release_rollout_seconds", rolloutTimings(output).rollout, "s");

    await frontDoor(url, names);

    // Two replicas, one killed under keep-alive load (a crash: its process killed from outside):
    // requests it dropped go to the other one, new ones skip it until it accepts again.
    version += 1;
    await test.stack.setConfig("permacoop:services", { value: JSON.stringify(services(String(version), { replicas: 2 }).value) });
    await test.stack.up({ color: "never" });
    const replicas = () =>
      execFileSync("docker", ["ps", "--filter", `label=${names.envLabel}`, "--filter", `label=${LABELS.service}=app`, "--format", "{{.Names}}"], {
        encoding: "utf8",
      })
        .split("\n")
        .filter(Boolean);
    for (let tries = 0; replicas().length !== 2; tries++) {
      if (tries > 120) throw new Error(`expected 2 replicas, found ${replicas().join(", ")}`);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    const crashLoad = startLoad(url, { keepAlive: true, connections: 64 });
    await new Promise((resolve) => setTimeout(resolve, 2000));
    process.kill(Number(execFileSync("docker", ["inspect", "-f", "{{.State.Pid}}", replicas()[0]!], { encoding: "utf8" }).trim()), "SIGKILL");
    await new Promise((resolve) => setTimeout(resolve, 6000));
    const crash = await crashLoad.stop();
    if (crash.failed > 0) process.stderr.write(`failed requests while a replica was killed:\n${crash.detail}\n`);
    report("replica_killed_failed_requests", crash.failed, "requests");
    report("replica_killed_total_requests", crash.total, "requests");
  } finally {
    await test.dispose();
  }
}

/**
 * Several hosts behind a load balancer (`--multihost`: root, three test hosts): runs the e2e file
 * test/e2e/multihost.test.ts, which measures them, and reports its figures —
 * `multihost_rollout_seconds` (a new version through three hosts one at a time, under load) and
 * the failed requests of that rollout and of a host lost under load.
 */
function multihost(): void {
  const dir = mkdtempSync(join(tmpdir(), "permacoop-bench-multihost-"));
  const file = join(dir, "metrics.jsonl");
  writeFileSync(file, "");
  try {
    execFileSync("npx", ["jest", "--config", "jest.e2e.config.js", "--runInBand", "test/e2e/multihost.test.ts"], {
      cwd: PROJECT_DIR,
      env: { ...process.env, PERMACOOP_E2E_METRICS: file },
      stdio: ["ignore", process.stderr, process.stderr],
    });
    for (const line of readFileSync(file, "utf8").split("\n").filter(Boolean)) {
      const { metric, value, unit } = JSON.parse(line) as { metric: string; value: number; unit: string };
      report(metric, value, unit);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  if (process.argv.includes("--multihost")) return multihost();
  const prod = await previewProd();
  report("preview_prod_seconds", prod.seconds, "s");
  report("preview_prod_peak_rss_mb", prod.peakRssMiB, "MiB");
  const empty = await emptyProgram();
  report("preview_empty_program_seconds", empty.preview, "s");
  report("preview_prod_over_empty_ratio", prod.seconds / empty.preview, "ratio");
  report("empty_up_seconds", empty.up, "s");
  await rollouts(empty.up);
}

main().catch((error) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
