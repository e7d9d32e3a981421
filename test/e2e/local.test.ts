import { execFileSync, spawn } from "node:child_process";
import { join } from "node:path";
import { PROJECT_DIR } from "../support/stackFiles";
import { startLoad } from "../support/load";
import { ConfigEntry, createTestStack, dockerObjects, freePort, httpGet, TestStack } from "./harness";

// One environment, driven through its life: each step builds on the previous one.
const ENV = "e2elocal";
const LABEL = `permacoop.env=${ENV}`;
const IMAGE = "permacoop/reference-app-e2e";

function buildAppImage(tag: string): void {
  execFileSync("docker", ["build", "--quiet", "--tag", `${IMAGE}:${tag}`, "--label", `e2e.version=${tag}`, join(PROJECT_DIR, "app")], { stdio: "ignore" });
}

function config(port: number, service: Record<string, unknown>): Record<string, ConfigEntry> {
  return {
    "permacoop:host": { value: { kind: "local", httpPort: port } },
    "permacoop:database": { value: { kind: "container" } },
    "permacoop:dns": { value: { provider: "none", hostnames: ["localhost"] } },
    "permacoop:tls": { value: { enabled: false } },
    "permacoop:services": { value: [{ name: "app", port: 3000, healthPath: "/healthz", pullPolicy: "never", ...service }] },
  };
}

describe("local environment on the Docker engine", () => {
  let test: TestStack;
  let port: number;
  let url: string;

  beforeAll(async () => {
    execFileSync("bash", [join(PROJECT_DIR, "scripts", "local-images.sh")], { stdio: "inherit" });
    execFileSync("bash", ["-c", "cd app && [ -d node_modules ] || npm ci --no-audit --no-fund"], { cwd: PROJECT_DIR, stdio: "inherit" });
    buildAppImage("v2");
    port = await freePort();
    url = `http://127.0.0.1:${port}/`;
    test = await createTestStack(ENV, config(port, { image: `${IMAGE}`, build: { context: "app" }, env: { APP_VERSION: "v1" } }));
  });

  afterAll(async () => {
    await test?.dispose();
  });

  const setService = (service: Record<string, unknown>) =>
    test.stack.setConfig("permacoop:services", {
      value: JSON.stringify([{ name: "app", port: 3000, healthPath: "/healthz", pullPolicy: "never", ...service }]),
    });

  it("up: serves the app through nginx with a database round trip", async () => {
    const result = await test.stack.up({ color: "never" });
    expect(result.summary.result).toBe("succeeded");
    expect(result.outputs.url?.value).toBe(url);
    const first = await httpGet(url);
    expect(first.status).toBe(200);
    expect(first.body).toContain("version v1");
    const second = await httpGet(url);
    expect(second.body).toMatch(/database round trip: visit #\d+/);
    expect(second.body).not.toBe(first.body); // the visit counter moved: a real write and read
    const page = await fetch(url);
    expect(page.headers.get("x-frame-options")).toBe("DENY");
    expect(page.headers.get("x-content-type-options")).toBe("nosniff");
  });

  it("rolls out a new image under continuous load without a failed request", async () => {
    const load = startLoad(url, { keepAlive: true });
    await setService({ image: `${IMAGE}:v2`, env: { APP_VERSION: "v2" } });
    const result = await test.stack.up({ color: "never" });
    const seen = await load.stop();
    expect(result.summary.result).toBe("succeeded");
    expect(seen.total).toBeGreaterThan(100);
    expect(seen).toMatchObject({ failed: 0 });
    expect((await httpGet(url)).body).toContain("version v2");
    expect(dockerObjects("ps -a", `permacoop.service=app`).filter((n) => n.startsWith(`pc-${ENV}-`))).toHaveLength(1);
  });

  it("an unhealthy image fails `up`, and the old version still answers", async () => {
    await setService({ image: `${IMAGE}:v2`, env: { APP_VERSION: "v3", FAIL_HEALTH: "1" }, healthCheck: { deadlineSeconds: 5 } });
    const error = await test.stack.up({ color: "never" }).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(error).toBeDefined();
    expect(String(error)).toMatch(/never became healthy/);
    expect(String(error)).toMatch(/last probe: HTTP 503/);
    const page = await httpGet(url);
    expect(page.status).toBe(200);
    expect(page.body).toContain("version v2");
    expect(dockerObjects("ps -a", LABEL).filter((n) => n.includes("-app-"))).toHaveLength(1);
  });

  it("a rollout killed half-way converges on the next up, with no orphan container", async () => {
    await setService({ image: `${IMAGE}:v2`, env: { APP_VERSION: "v4" } });
    const child = spawn("pulumi", ["up", "--yes", "--skip-preview", "--stack", ENV, "--color", "never"], {
      cwd: test.workDir,
      env: { ...process.env, ...test.env },
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
    });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("the rollout never reached its start step")), 120_000);
      child.stdout.on("data", (chunk: Buffer) => {
        if (chunk.toString().includes("step 4 start")) {
          clearTimeout(timer);
          process.kill(-child.pid!, "SIGKILL"); // the CLI, its plugins and the script: all at once
          resolve();
        }
      });
    });
    await new Promise((resolve) => child.on("exit", resolve));
    execFileSync("pulumi", ["cancel", "--yes", "--stack", ENV], { cwd: test.workDir, env: { ...process.env, ...test.env }, stdio: "ignore" }).toString();
    const result = await test.stack.up({ color: "never" });
    expect(result.summary.result).toBe("succeeded");
    expect((await httpGet(url)).body).toContain("version v4");
    expect(dockerObjects("ps -a", LABEL).filter((n) => n.includes("-app-"))).toHaveLength(1);
  });

  it("a second up with nothing changed changes nothing", async () => {
    const result = await test.stack.up({ color: "never" });
    const changes = Object.entries(result.summary.resourceChanges ?? {}).filter(([op]) => op !== "same");
    expect(changes).toEqual([]);
  });

  it("destroy leaves no container, network or volume", async () => {
    await test.stack.destroy({ color: "never" });
    expect(dockerObjects("ps -a", LABEL)).toEqual([]);
    expect(dockerObjects("network ls", LABEL)).toEqual([]);
    expect(dockerObjects("volume ls", LABEL)).toEqual([]);
    await expect(fetch(url, { signal: AbortSignal.timeout(3000) })).rejects.toThrow();
  });
});
