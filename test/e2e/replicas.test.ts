import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HostContract, LABELS } from "../../components/runtime/contract";
import { startLoad } from "../support/load";
import { containerPsql, createTestStack, runCli, deployedContract, freePort, httpGet, httpStackConfig, TestStack, wipeEnvironments } from "./harness";
import { APP_IMAGE, prepareImages } from "./lifecycle";

/**
 * Replicas on the local engine: a service of three containers behind the switch (round robin),
 * rolled out together under load with 0 failed requests and its release run once per version;
 * one replica killed under load loses no request and comes back; fewer replicas leave fewer
 * containers, and drift finds nothing.
 */
const ENV = "e2ereplicas";

describe("replicas: several containers of a service behind the switch", () => {
  let test: TestStack;
  let port: number;
  let names: HostContract;
  let psql: (sql: string) => string;
  /** Another image than v1's (the release runs once per image): APP_VERSION aside, the same app. */
  const NEXT_IMAGE = `${APP_IMAGE}:replicas-next`;
  const web = (version: string, replicas: number) => [
    {
      name: "web",
      ...(version === "v1" ? { image: APP_IMAGE, build: { context: "app" } } : { image: NEXT_IMAGE, pullPolicy: "never" }),
      port: 3000,
      replicas,
      release: { command: "node migrate.js", timeoutSeconds: 60 },
      env: { APP_VERSION: version },
    },
  ];
  const up = async (version: string, replicas: number) => {
    await test.stack.setConfig("permacoop:services", { value: JSON.stringify(web(version, replicas)) });
    expect((await test.stack.up({ color: "never" })).summary.result).toBe("succeeded");
  };
  const cli = (name: string, ...args: string[]) => runCli(test, name, ...args, "-s", ENV);
  /** The running containers of the service. */
  const running = () =>
    execFileSync("docker", ["ps", "--filter", `label=${names.envLabel}`, "--filter", `label=${LABELS.service}=web`, "--format", "{{.Names}}"], {
      encoding: "utf8",
    })
      .split("\n")
      .filter(Boolean)
      .sort();
  /** Who answered `count` requests: version and container host name of each. */
  const answerers = async (count: number) => {
    const seen = new Set<string>();
    for (let i = 0; i < count; i++) seen.add((await httpGet(`http://127.0.0.1:${port}/host`)).body.trim());
    return [...seen].sort();
  };
  const releases = (version: string) => psql(`SELECT count(*) FROM releases WHERE version = '${version}'`);

  beforeAll(async () => {
    prepareImages();
    const dir = mkdtempSync(join(tmpdir(), "permacoop-e2e-replicas-"));
    writeFileSync(join(dir, "Dockerfile"), `FROM ${APP_IMAGE}:v2\nLABEL permacoop.e2e=replicas-next\n`);
    execFileSync("docker", ["build", "--quiet", "--tag", NEXT_IMAGE, dir], { stdio: "ignore" });
    rmSync(dir, { recursive: true, force: true });
    wipeEnvironments(ENV);
    port = await freePort();
    test = await createTestStack(ENV, httpStackConfig({ kind: "local", httpPort: port }, web("v1", 3)));
    expect((await test.stack.up({ color: "never" })).summary.result).toBe("succeeded");
    names = await deployedContract(test, ENV);
    psql = containerPsql(names.dbContainer);
  });

  afterAll(async () => {
    await test?.dispose();
  });

  it("runs three containers, answering in turn; the release ran once", async () => {
    // Settled: the first rollout's background part has nothing to stop.
    expect(running()).toHaveLength(3);
    const seen = await answerers(12);
    expect(seen).toHaveLength(3);
    expect(seen.every((answer) => answer.startsWith("v1 "))).toBe(true);
    expect(releases("v1")).toBe("1");
    const status = cli("ops", "status").output;
    expect(status.match(/^service web: live \S+; \/healthz → 200$/gm)).toHaveLength(3);
  });

  it("rolls out all three together under load: 0 failed requests, the release once", async () => {
    const load = startLoad(`http://127.0.0.1:${port}/uri/load`, { keepAlive: true, connections: 16, maxSeconds: 180 });
    await new Promise((r) => setTimeout(r, 1000));
    await up("v2", 3);
    await new Promise((r) => setTimeout(r, 1000));
    const result = await load.stop();
    expect(result.detail).not.toMatch(/Socket errors|Non-2xx/);
    expect(result.failed).toBe(0);
    expect(result.total).toBeGreaterThan(0);
    const seen = await answerers(12);
    expect(seen).toHaveLength(3);
    expect(seen.every((answer) => answer.startsWith("v2 "))).toBe(true);
    expect(releases("v2")).toBe("1");
  }, 240_000);

  it("loses no request when a replica is killed under load, and takes it back once it restarts", async () => {
    // Its previous version gone: the drain in the background is done.
    for (let tries = 0; running().length !== 3; tries++) {
      expect(tries).toBeLessThan(120);
      await new Promise((r) => setTimeout(r, 500));
    }
    const victim = running()[0]!;
    // Half-second answers: the victim holds requests in flight when it dies (they go to another replica).
    const load = startLoad(`http://127.0.0.1:${port}/slow?seconds=0.5`, { keepAlive: true, connections: 24, maxSeconds: 120 });
    await new Promise((r) => setTimeout(r, 1500));
    // A crash: its process killed from outside (Docker restarts it: restart unless-stopped).
    const pid = Number(execFileSync("docker", ["inspect", "-f", "{{.State.Pid}}", victim], { encoding: "utf8" }).trim());
    process.kill(pid, "SIGKILL");
    await new Promise((r) => setTimeout(r, 6000));
    const result = await load.stop();
    expect(result.detail).not.toMatch(/Socket errors|Non-2xx/);
    expect(result.failed).toBe(0);
    expect(result.total).toBeGreaterThan(0);
    // It did crash, and Docker started it again.
    expect(Number(execFileSync("docker", ["inspect", "-f", "{{.RestartCount}}", victim], { encoding: "utf8" }).trim())).toBeGreaterThanOrEqual(1);
    // Back in turn once it accepts again.
    for (let tries = 0; (await answerers(12)).length !== 3; tries++) {
      expect(tries).toBeLessThan(30);
      await new Promise((r) => setTimeout(r, 1000));
    }
  }, 180_000);

  it("scales down to one: one container serves, the others go, and drift finds nothing", async () => {
    await up("v2", 1);
    expect(await answerers(6)).toHaveLength(1);
    for (let tries = 0; running().length !== 1; tries++) {
      expect(tries).toBeLessThan(120);
      await new Promise((r) => setTimeout(r, 500));
    }
    const drift = cli("drift");
    expect(drift.output).toContain("no drift");
    expect(drift.status).toBe(0);
  }, 180_000);
});
