import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TestRegistry, startRegistry } from "../support/registry";
import { startLoad } from "../support/load";
import { PROJECT_DIR } from "../support/stackFiles";
import { hostHasImage, loadImages, startTestHost, stopTestHost, TestHost } from "../support/testHosts";
import { containerPsql, createTestStack, deployedContract, httpStackConfig, freePort, httpGet, plaintextSecretsInState, TestStack } from "./harness";
import { APP_IMAGE, prepareImages } from "./lifecycle";

/**
 * A new version shipped the usual way, to a separate server, from a private registry: Debian's
 * docker-registry with a login, on this machine's side of the test host's link. The host logs in
 * through stdin, pulls the tag's digest, runs the release once per version, and a push under the
 * same tag rolls out under load without a failed request.
 */
const ENV = "e2eprivate";
const USER = "permacoop-ci";
const PASSWORD = "e2e-registry-password-5b1d";

describe("a private registry with a login, to a separate server (test host)", () => {
  let server: TestHost;
  let dir: string;
  let registry: TestRegistry | undefined;
  let pushTag: string; // as this machine's engine pushes it (loopback)
  let image: string; // as the host pulls it (this machine's address on the host's link)
  let test: TestStack;
  let url: string;
  let port: number;
  const dockerConfig = () => join(dir, "docker-config"); // the runner's login, kept out of ~/.docker

  /** Builds the app with APP_VERSION baked in and pushes it under the same tag. */
  const push = (version: string): void => {
    const build = join(dir, `build-${version}`);
    mkdirSync(build, { recursive: true });
    writeFileSync(join(build, "Dockerfile"), `FROM ${APP_IMAGE}:v2\nENV APP_VERSION=${version}\n`);
    execFileSync("docker", ["build", "--quiet", "--tag", pushTag, build], { stdio: "ignore" });
    execFileSync("docker", ["--config", dockerConfig(), "push", "--quiet", pushTag], { stdio: "ignore" });
  };
  let dbContainer: string; // the environment's names carry its id: read after the first up
  const psql = (sql: string) => containerPsql(dbContainer, server.dockerHost)(sql);

  beforeAll(async () => {
    prepareImages();
    server = startTestHost("registry", 2);
    loadImages(server, ["nginx:stable", "haproxy:lts", "postgres:16"]); // the app comes from the registry, nothing else
    dir = mkdtempSync(join(tmpdir(), "permacoop-e2e-private-"));
    port = await freePort();
    // Two listeners on one storage: loopback for this machine's engine (plain HTTP is allowed
    // there), the host's link for the host (its engine trusts that address: tools/test-hosts.sh).
    registry = await startRegistry(dir, [`127.0.0.1:${port}`, `${server.runnerAddress}:${port}`], { user: USER, password: PASSWORD });
    pushTag = `127.0.0.1:${port}/permacoop/app:main`;
    image = `${server.runnerAddress}:${port}/permacoop/app:main`;
    execFileSync("docker", ["--config", dockerConfig(), "login", `127.0.0.1:${port}`, "--username", USER, "--password-stdin"], {
      input: PASSWORD,
      stdio: ["pipe", "ignore", "inherit"],
    });

    const httpPort = await freePort();
    url = `http://${server.address}:${httpPort}/`;
    test = await createTestStack(ENV, {
      ...httpStackConfig(
        { kind: "ssh", address: server.address, port: server.sshPort, user: server.user, hostKey: server.hostKey, httpPort, bindAddress: "0.0.0.0" },
        [{ name: "app", image, port: 3000, healthPath: "/healthz", release: { command: "node migrate.js", timeoutSeconds: 60 } }],
      ),
      "permacoop:sshPrivateKey": { value: server.privateKey, secret: true },
      "permacoop:registries": { value: [{ address: `http://${server.runnerAddress}:${port}`, username: USER, passwordSecret: "registryPassword" }] },
      "permacoop:registryPassword": { value: PASSWORD, secret: true },
    });
  });

  afterAll(async () => {
    await test?.dispose();
    await registry?.stop();
    if (server) stopTestHost(server);
    try {
      const built = `${server.runnerAddress}:${port}/permacoop/built`;
      const ids = execFileSync("docker", ["images", "--format", "{{.ID}}", "--filter", `reference=${pushTag}`, "--filter", `reference=${built}`], {
        encoding: "utf8",
      });
      for (const id of new Set(ids.split("\n").filter(Boolean))) execFileSync("docker", ["rmi", "-f", id], { stdio: "ignore" });
    } catch {
      // best effort: the images carry a throwaway port in their name
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("up: the host logs in through stdin, pulls the tag's digest, runs the release, and serves", async () => {
    push("v1");
    expect(hostHasImage(server, image)).toBe(false);
    expect((await test.stack.up({ color: "never" })).summary.result).toBe("succeeded");
    dbContainer = (await deployedContract(test, ENV)).dbContainer;
    expect((await httpGet(url)).body).toContain("version v1");
    const runs = (await test.stack.outputs()).images!.value as Record<string, string>;
    expect(runs.app).toMatch(new RegExp(`^${image.replace(/[.]/g, "\\.").replace(/:main$/, "")}@sha256:[0-9a-f]{64}$`));
    expect(psql("SELECT count(*) FROM releases WHERE version = 'v1'")).toBe("1");
    // The login is the host's own (its deploy user's Docker config), and nowhere in plaintext in the state.
    const hostDockerConfig = JSON.parse(readFileSync(`/home/${server.user}/.docker/config.json`, "utf8")) as { auths: Record<string, unknown> };
    expect(Object.keys(hostDockerConfig.auths)).toContain(`${server.runnerAddress}:${port}`);
    expect(plaintextSecretsInState(test, { registryPassword: PASSWORD })).toEqual([]);
  });

  it("a push under the same tag rolls out at the next up, under load without a failed request; the release runs once for it", async () => {
    push("v2");
    const load = startLoad(url, { keepAlive: true, connections: 32 });
    const result = await test.stack.up({ color: "never" });
    const seen = await load.stop();
    expect(result.summary.result).toBe("succeeded");
    expect(seen.failed).toBe(0);
    expect(seen.total).toBeGreaterThan(0);
    expect((await httpGet(url)).body).toContain("version v2");
    expect(psql("SELECT count(*) FROM releases WHERE version = 'v2'")).toBe("1");
    const again = await test.stack.up({ color: "never" });
    expect(Object.entries(again.summary.resourceChanges ?? {}).filter(([op]) => op !== "same")).toEqual([]);
    expect(psql("SELECT count(*) FROM releases")).toBe("2");
  });

  it("npm run rollback on the server: back to v1's digest, and v1's release does not run again", async () => {
    const result = spawnSync("npx", ["ts-node", "--transpile-only", join(PROJECT_DIR, "cli", "deploy.ts"), "rollback", "-s", ENV, "--yes"], {
      cwd: test.workDir,
      env: { ...process.env, ...test.pulumiCliEnv },
      encoding: "utf8",
    });
    expect(`${result.stdout}${result.stderr}`).toMatch(/app serves \S+@sha256:[0-9a-f]{64}; rolling back to \S+@sha256:[0-9a-f]{64}/);
    expect(result.status).toBe(0);
    expect((await httpGet(url)).body).toContain("version v1");
    expect(psql("SELECT count(*) FROM releases WHERE version = 'v1'")).toBe("1");
  });

  it("a service with build reaches the server through the buildRegistry: built here once, pushed with the login, pulled by digest", async () => {
    const registryPath = `${server.runnerAddress}:${port}/permacoop`;
    const services = [
      { name: "app", image, port: 3000, healthPath: "/healthz", release: { command: "node migrate.js", timeoutSeconds: 60 } },
      {
        name: "built",
        image: "permacoop/built",
        build: { context: "app" },
        port: 3000,
        route: "/built/",
        healthPath: "/healthz",
        env: { APP_VERSION: "built" },
      },
    ];
    await test.stack.setConfig("permacoop:services", { value: JSON.stringify(services) });
    await test.stack.setConfig("permacoop:buildRegistry", { value: registryPath });
    const result = await test.stack.up({ color: "never" });
    expect(result.summary.result).toBe("succeeded");
    expect((await httpGet(`${url}built/`)).body).toContain("version built");
    const runs = (await test.stack.outputs()).images!.value as Record<string, string>;
    expect(runs.built).toMatch(new RegExp(`^${registryPath.replace(/[.]/g, "\\.")}/built@sha256:[0-9a-f]{64}$`));
    expect(hostHasImage(server, runs.built!)).toBe(true);
    expect(plaintextSecretsInState(test, { registryPassword: PASSWORD })).toEqual([]);
    // The same source: no rebuild, no push, no rollout.
    const again = await test.stack.up({ color: "never" });
    expect(Object.entries(again.summary.resourceChanges ?? {}).filter(([op]) => op !== "same")).toEqual([]);
  });
});
