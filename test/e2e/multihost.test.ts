import { execFileSync } from "node:child_process";
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { hostContract, LABELS } from "../../components/runtime/contract";
import { LoadBalancer, startLoadBalancer } from "../support/loadBalancer";
import { LoadResult, startLoad } from "../support/load";
import { loadImages, startTestHost, stopTestHost, TestHost } from "../support/testHosts";
import { PROJECT_DIR } from "../support/stackFiles";
import { containerPsql, createTestStack, freePort, httpGet, runCli, TestStack, wipeEnvironments } from "./harness";
import { APP_IMAGE, prepareImages } from "./lifecycle";

/**
 * Several hosts behind a load balancer (issue #17), on three test hosts: one stack, `host.hosts`,
 * an external PostgreSQL they share (a container on this machine's engine), a local HAProxy
 * standing in for the Scaleway Load Balancer. Rollouts go one host at a time under load through
 * the LB, the release runs once per version, an unhealthy version stops on the first host, and a
 * lost host is taken out by the LB, fails `up` naming it, and serves again once it is back.
 */
const ENV = "e2emultihost";
const HOST_NAMES = ["mh1", "mh2", "mh3"];
const INDEXES = [5, 6, 7];
const DB_CONTAINER = "pc-e2e-multihost-db";
const DB_PASSWORD = "e2e-multihost-db-4b7d1c0e";
const HOSTNAME = "app.permacoop.test";
/** Two images (the release runs once per image): APP_VERSION aside, the same app. */
const IMAGE_A = `${APP_IMAGE}:multihost-a`;
const IMAGE_B = `${APP_IMAGE}:multihost-b`;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("several hosts behind a load balancer, rolled out one at a time", () => {
  let hosts: TestHost[] = [];
  let lb: LoadBalancer | undefined;
  let test: TestStack | undefined;
  let httpPort: number;
  let psql: (sql: string) => string;

  const service = (version: string, image: string, more: Record<string, unknown> = {}) => [
    {
      name: "app",
      image,
      pullPolicy: "never",
      port: 3000,
      healthPath: "/healthz",
      release: { command: "node migrate.js", timeoutSeconds: 60 },
      env: { APP_VERSION: version },
      ...more,
    },
  ];
  const setService = async (version: string, image: string, more: Record<string, unknown> = {}) =>
    test!.stack.setConfig("permacoop:services", { value: JSON.stringify(service(version, image, more)) });
  const releases = (version: string) => psql(`SELECT count(*) FROM releases WHERE version = '${version}'`);
  /** What each host's own edge answers on /version (directly, not through the LB). */
  const versions = async () =>
    Promise.all(hosts.map(async (h) => (await httpGet(`http://${h.address}:${httpPort}/version`).catch((e: Error) => ({ body: e.message }))).body.trim()));
  /** Who answered `count` requests through the LB: version and container host name of each. */
  const answerers = async (count: number) => {
    const seen = new Set<string>();
    for (let i = 0; i < count; i++) seen.add((await httpGet(`${lb!.url}/host`)).body.trim());
    return [...seen].sort();
  };
  /** When the running app container of `version` on host `h` was created (ms since the epoch). */
  const createdAt = (h: TestHost, version: string): number => {
    const ids = execFileSync("docker", ["-H", h.dockerHost, "ps", "-q", "--filter", `label=${LABELS.service}=app`], { encoding: "utf8" })
      .split("\n")
      .filter(Boolean);
    const containers = JSON.parse(execFileSync("docker", ["-H", h.dockerHost, "inspect", ...ids], { encoding: "utf8" })) as {
      Created: string;
      Config: { Env: string[] };
    }[];
    const match = containers.filter((c) => c.Config.Env.includes(`APP_VERSION=${version}`));
    expect(match).toHaveLength(1);
    return Date.parse(match[0]!.Created);
  };
  /** The audit log of host `h` (one line per rollout: to which image, how it ended), read on the host's disk. */
  const audit = async (h: TestHost): Promise<string[]> => {
    const ids = (await test!.stack.outputs()).envIds!.value as string[];
    const file = `/home/${h.user}/${hostContract(ENV, ids[hosts.indexOf(h)]!).paths.auditLog}`;
    return readFileSync(file, "utf8").split("\n").filter(Boolean);
  };
  /** The deploy user's key of host 1 opens every host (the stack has one `sshPrivateKey`). */
  const authorize = (h: TestHost) => {
    const publicKey = hosts[0]!.publicKey;
    const file = `/home/${h.user}/.ssh/authorized_keys`;
    if (!readFileSync(file, "utf8").includes(publicKey)) appendFileSync(file, `${publicKey}\n`);
  };
  /** A figure for the output, and for `npm run bench -- --multihost` (the file it names in PERMACOOP_E2E_METRICS). */
  const report = (metric: string, value: number, unit: string) => {
    const line = JSON.stringify({ metric, value, unit });
    console.log(line);
    if (process.env.PERMACOOP_E2E_METRICS) appendFileSync(process.env.PERMACOOP_E2E_METRICS, `${line}\n`);
  };

  beforeAll(async () => {
    prepareImages();
    const dir = mkdtempSync(join(tmpdir(), "permacoop-e2e-multihost-"));
    for (const image of [IMAGE_A, IMAGE_B]) {
      writeFileSync(join(dir, "Dockerfile"), `FROM ${APP_IMAGE}:v2\nLABEL permacoop.e2e=${image.split(":")[1]}\n`);
      execFileSync("docker", ["build", "--quiet", "--tag", image, dir], { stdio: "ignore" });
    }
    rmSync(dir, { recursive: true, force: true });

    hosts = HOST_NAMES.map((name, i) => startTestHost(name, INDEXES[i]!));
    for (const h of hosts) {
      wipeEnvironments(ENV, { dockerHost: h.dockerHost, user: h.user });
      loadImages(h, ["nginx:stable", "haproxy:lts", IMAGE_A, IMAGE_B]);
      authorize(h);
    }

    // The shared database: on this machine, published on host 1's side of its link; the other
    // hosts reach that address through their own link (tools/test-hosts.sh reach).
    const dbAddress = hosts[0]!.runnerAddress;
    const dbPort = await freePort();
    execFileSync("docker", ["rm", "-f", DB_CONTAINER], { stdio: "ignore" });
    execFileSync("docker", [
      "run",
      "-d",
      "--name",
      DB_CONTAINER,
      "-e",
      "POSTGRES_USER=permacoop",
      "-e",
      `POSTGRES_PASSWORD=${DB_PASSWORD}`,
      "-e",
      "POSTGRES_DB=permacoop",
      "-p",
      `${dbAddress}:${dbPort}:5432`,
      "postgres:16",
    ]);
    for (const h of hosts.slice(1)) execFileSync("bash", [join(PROJECT_DIR, "tools", "test-hosts.sh"), "reach", h.name, dbAddress], { stdio: "inherit" });
    for (let tries = 0; ; tries++) {
      const ready = execFileSync("bash", ["-c", `docker exec ${DB_CONTAINER} pg_isready -U permacoop -h 127.0.0.1 >/dev/null 2>&1 && echo yes || true`], {
        encoding: "utf8",
      });
      if (ready.trim() === "yes") break;
      if (tries > 120) throw new Error("the shared database did not start");
      await sleep(500);
    }
    psql = containerPsql(DB_CONTAINER);
    // Every host reaches it (from its namespace, as its containers' traffic leaves it).
    for (const h of hosts)
      execFileSync("nsenter", [`--net=/var/run/netns/pc-th-${h.name}`, "timeout", "5", "bash", "-c", `exec 3<>/dev/tcp/${dbAddress}/${dbPort}`]);

    httpPort = await freePort();
    test = await createTestStack(ENV, {
      "permacoop:host": {
        value: {
          kind: "ssh",
          hosts: hosts.map((h) => ({ address: h.address, hostKey: h.hostKey, user: h.user })),
          httpPort,
          bindAddress: "0.0.0.0",
        },
      },
      "permacoop:database": { value: { kind: "external", host: dbAddress, port: dbPort, name: "permacoop", user: "permacoop" } },
      "permacoop:databasePassword": { value: DB_PASSWORD, secret: true },
      "permacoop:sshPrivateKey": { value: hosts[0]!.privateKey, secret: true },
      "permacoop:dns": { value: { provider: "none", hostnames: [HOSTNAME] } },
      "permacoop:tls": { value: { enabled: false } },
      "permacoop:rollout": { value: { parallel: 1 } },
      "permacoop:services": { value: service("v1", IMAGE_A) },
    });
    lb = await startLoadBalancer({
      port: await freePort(),
      statsPort: await freePort(),
      servers: hosts.map((h) => `${h.address}:${httpPort}`),
      healthPath: "/healthz",
      hostHeader: HOSTNAME,
    });
  }, 600_000);

  afterAll(async () => {
    // Each step whatever the others did: a failed scenario may have left any of them half-done.
    const steps: (() => unknown)[] = [
      () => lb?.stop(),
      () => test?.dispose(),
      () => execFileSync("docker", ["rm", "-f", DB_CONTAINER], { stdio: "ignore" }),
      ...hosts.map((h) => () => stopTestHost(h)),
    ];
    const failures: unknown[] = [];
    for (const step of steps)
      await Promise.resolve()
        .then(step)
        .catch((error: unknown) => failures.push(error));
    if (failures.length > 0) throw failures[0];
  }, 300_000);

  it("one server first, then three: the first keeps its steps (renamed, none deleted); every host serves through the load balancer; the release ran once", async () => {
    const severalHosts = await test!.stack.getConfig("permacoop:host");
    const [first] = hosts;
    await test!.stack.setConfig("permacoop:host", {
      value: JSON.stringify({ kind: "ssh", address: first!.address, hostKey: first!.hostKey, user: first!.user, httpPort, bindAddress: "0.0.0.0" }),
    });
    expect((await test!.stack.up({ color: "never" })).summary.result).toBe("succeeded");
    expect((await versions())[0]).toBe("v1");
    await test!.stack.setConfig("permacoop:host", severalHosts);
    const grown = await test!.stack.up({ color: "never" });
    expect(grown.summary.result).toBe("succeeded");
    // A delete would have run the first server's teardown (its steps' delete commands) after the renamed ones.
    expect(grown.summary.resourceChanges?.delete ?? 0).toBe(0);
    expect(await versions()).toEqual(["v1", "v1", "v1"]);
    await lb!.until((states) => Object.values(states).every((s) => s === "UP"), 30_000);
    const seen = await answerers(12);
    expect(seen).toHaveLength(3); // three containers, one per host
    expect(seen.every((answer) => answer.startsWith("v1 "))).toBe(true);
    expect(releases("v1")).toBe("1");
    const outputs = await test!.stack.outputs();
    expect((outputs.envIds?.value as string[]).length).toBe(3);
  }, 600_000);

  it("rolls out a new version one host at a time under load: 0 failed requests, the release once", async () => {
    const auditBefore = await Promise.all(hosts.map(audit));
    const load = startLoad(`${lb!.url}/uri/load`, { keepAlive: true, connections: 16, maxSeconds: 300 });
    await sleep(1000);
    await setService("v2", IMAGE_B);
    const started = Date.now();
    expect((await test!.stack.up({ color: "never" })).summary.result).toBe("succeeded");
    const seconds = (Date.now() - started) / 1000;
    await sleep(1000);
    const result: LoadResult = await load.stop();
    report("multihost_rollout_seconds", seconds, "s");
    report("multihost_rollout_failed_requests", result.failed, "requests");
    report("multihost_rollout_total_requests", result.total, "requests");
    expect(result.detail).not.toMatch(/Socket errors|Non-2xx/);
    expect(result.failed).toBe(0);
    expect(result.total).toBeGreaterThan(100);
    expect(await versions()).toEqual(["v2", "v2", "v2"]);
    // One host at a time, in the config's order.
    const created = hosts.map((h) => createdAt(h, "v2"));
    expect(created[0]).toBeLessThan(created[1]!);
    expect(created[1]).toBeLessThan(created[2]!);
    // Each host: one rollout more, to the new image, succeeded.
    const auditAfter = await Promise.all(hosts.map(audit));
    for (const [i, lines] of auditAfter.entries()) {
      expect(lines.slice(auditBefore[i]!.length)).toEqual([expect.stringMatching(new RegExp(`\tto=${IMAGE_B}(@\\S+)?\toutcome=succeeded\t`))]);
    }
    expect(releases("v2")).toBe("1");
    expect(releases("v1")).toBe("1");
  }, 600_000);

  it("an unhealthy version fails up on the first host, naming it; every host keeps the previous version", async () => {
    const auditBefore = await Promise.all(hosts.map(audit));
    const load = startLoad(`${lb!.url}/uri/load`, { keepAlive: true, connections: 16, maxSeconds: 300 });
    await sleep(1000);
    await setService("v3", IMAGE_B, { env: { APP_VERSION: "v3", FAIL_HEALTH: "1" }, healthCheck: { deadlineSeconds: 5 } });
    const error = await test!.stack.up({ color: "never" }).then(
      () => undefined,
      (e: Error) => String(e),
    );
    const result = await load.stop();
    console.log(
      `the unhealthy up failed:\n${error!
        .split("\n")
        .filter((line) => /FAILED/.test(line))
        .slice(0, 3)
        .join("\n")
        .slice(0, 1500)}`,
    );
    expect(error).toMatch(/never became healthy/);
    expect(error).toContain(`on ${hosts[0]!.address}`);
    for (const h of hosts.slice(1)) expect(error).not.toContain(`on ${h.address}`);
    expect(await versions()).toEqual(["v2", "v2", "v2"]);
    // The rollout stopped at host 1: hosts 2 and 3 never started one.
    const auditAfter = await Promise.all(hosts.map(audit));
    expect(auditAfter[0]!.slice(auditBefore[0]!.length)).toEqual([expect.stringMatching(/\toutcome=failed\t/)]);
    expect(auditAfter.slice(1)).toEqual(auditBefore.slice(1));
    expect(result.detail).not.toMatch(/Socket errors|Non-2xx/);
    expect(result.failed).toBe(0);
    expect(result.total).toBeGreaterThan(100);
    expect(Object.values(await lb!.states())).toEqual(["UP", "UP", "UP"]);
  }, 600_000);

  it("a lost host: the load balancer takes it out, up fails naming it, and it serves again once back", async () => {
    const lost = hosts[2]!;
    const load = startLoad(`${lb!.url}/uri/load`, { keepAlive: true, connections: 16, maxSeconds: 300 });
    await sleep(1500);
    // The machine vanishes from the network (its link down: nothing answers, not even a reset).
    const lostAt = Date.now();
    execFileSync("ip", ["-n", `pc-th-${lost.name}`, "link", "set", "eth0", "down"]);
    await lb!.until((states) => states.host3!.startsWith("DOWN"), 60_000);
    const markedDownSeconds = (Date.now() - lostAt) / 1000;
    const beforeDown = await load.stop();
    report("multihost_host_lost_marked_down_seconds", markedDownSeconds, "s");
    report("multihost_host_lost_failed_requests", beforeDown.failed, "requests");
    report("multihost_host_lost_total_requests", beforeDown.total, "requests");
    expect(beforeDown.total).toBeGreaterThan(0);

    // Once it is marked down: no request fails.
    const after = startLoad(`${lb!.url}/uri/load`, { keepAlive: true, connections: 16, maxSeconds: 60 });
    await sleep(5000);
    const afterDown = await after.stop();
    expect(afterDown.detail).not.toMatch(/Socket errors|Non-2xx/);
    expect(afterDown.failed).toBe(0);
    expect(afterDown.total).toBeGreaterThan(100);

    // A change meanwhile: up fails naming the lost host; the others keep serving through the LB.
    const during = startLoad(`${lb!.url}/uri/load`, { keepAlive: true, connections: 16, maxSeconds: 300 });
    await setService("v4", IMAGE_B);
    const error = await test!.stack.up({ color: "never" }).then(
      () => undefined,
      (e: Error) => String(e),
    );
    const duringUp = await during.stop();
    expect(error).toBeDefined();
    console.log(
      `up with host 3 lost failed:\n${error!
        .split("\n")
        .filter((line) => line.includes(lost.address))
        .slice(0, 3)
        .join("\n")
        .slice(0, 1500)}`,
    );
    expect(error).toContain(`dial tcp ${lost.address}:22`);
    // Servers listed in host.hosts name their steps by address.
    const runtimeOf = (h: TestHost) => `${ENV}-host-${h.address.replace(/\./g, "-")}-runtime`;
    expect(error).toMatch(new RegExp(`${runtimeOf(lost)}-\\S+ \\*\\*\\w+ failed\\*\\*`));
    for (const h of hosts.slice(0, 2)) expect(error).not.toMatch(new RegExp(`${runtimeOf(h)}-\\S+ \\*\\*\\w+ failed\\*\\*`));
    expect(duringUp.failed).toBe(0);
    const served = await versions();
    console.log(`versions after the failed up, host by host: ${JSON.stringify(served)}`);
    // Hosts 1 and 2 came before the lost one: they are on the new version.
    expect(served.slice(0, 2)).toEqual(["v4", "v4"]);

    // Back: its link up again (tools/test-hosts.sh up restores the host, and checks its engine and sshd).
    const back = startTestHost(lost.name, INDEXES[2]!);
    // Its route to the shared database came back with its link (the app's /healthz needs it).
    execFileSync("nsenter", [`--net=/var/run/netns/pc-th-${back.name}`, "ip", "route", "get", hosts[0]!.runnerAddress]);
    expect(back.address).toBe(lost.address);
    authorize(back);
    await lb!.until((states) => states.host3 === "UP", 60_000);
    expect((await test!.stack.up({ color: "never" })).summary.result).toBe("succeeded");
    expect(await versions()).toEqual(["v4", "v4", "v4"]);
    expect(releases("v4")).toBe("0"); // the same image as v2's: its release already ran
    const seen = await answerers(12);
    expect(seen).toHaveLength(3);
    expect(seen.every((answer) => answer.startsWith("v4 "))).toBe(true);
  }, 600_000);

  it("npm run ops -- status --host 2 reports host 2", async () => {
    const status = runCli(test!, "ops", "status", "-s", ENV, "--host", "2");
    expect(status.status).toBe(0);
    // The live app container of each host: its name differs from host to host.
    const live = hosts.map(
      (h) =>
        execFileSync("docker", ["-H", h.dockerHost, "ps", "--filter", `label=${LABELS.service}=app`, "--format", "{{.Names}}"], { encoding: "utf8" })
          .trim()
          .split("\n")[0]!,
    );
    expect(new Set(live).size).toBe(3);
    expect(status.output).toContain(`service app: live ${live[1]}; /healthz → 200`);
    for (const other of [live[0]!, live[2]!]) expect(status.output).not.toContain(other);
    const byAddress = runCli(test!, "ops", "status", "-s", ENV, "--host", hosts[2]!.address);
    expect(byAddress.status).toBe(0);
    expect(byAddress.output).toContain(`service app: live ${live[2]}; /healthz → 200`);
    const wrong = runCli(test!, "ops", "status", "-s", ENV, "--host", "4");
    expect(wrong.status).not.toBe(0);
    expect(wrong.output).toContain("not a host of this stack");
  }, 120_000);
});
