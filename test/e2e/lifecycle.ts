import { execFileSync, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { startLoad } from "../support/load";
import { killProcessTree, processesMatching, stillAlive } from "../support/processes";
import { appContainerPrefix, HostContract } from "../../components/runtime/contract";
import { PROJECT_DIR } from "../support/stackFiles";
import {
  ConfigEntry,
  createTestStack,
  deployedContract,
  httpStackConfig,
  databasePassword,
  dockerObjects,
  settled,
  freePort,
  httpGet,
  plaintextSecretsInState,
  runCli,
  TestStack,
  wipeEnvironments,
} from "./harness";

export const APP_IMAGE = "permacoop/reference-app-e2e";

/** Images every environment scenario needs: nginx/haproxy/postgres/node (pulled, or built from Debian) and the app. */
export function prepareImages(extra: string[] = []): void {
  execFileSync(
    "bash",
    [
      join(PROJECT_DIR, "tools", "local-images.sh"),
      "nginx:stable=tools/images/nginx",
      "haproxy:lts=tools/images/haproxy",
      "postgres:16=tools/images/postgres",
      "node:20-slim=tools/images/node",
      ...extra,
    ],
    { stdio: "inherit" },
  );
  execFileSync("bash", ["-c", "cd app && { [ -d node_modules ] || npm ci --no-audit --no-fund; }"], { cwd: PROJECT_DIR, stdio: "inherit" });
  execFileSync("docker", ["build", "--quiet", "--tag", `${APP_IMAGE}:v2`, join(PROJECT_DIR, "app")], { stdio: "ignore" });
}

export interface LifecycleOptions {
  /** Stack (environment) name. */
  readonly env: string;
  /** `permacoop:host` for a given published HTTP port. */
  host(httpPort: number): Record<string, unknown>;
  /** Extra config entries (secrets such as sshPrivateKey). */
  readonly extraConfig?: Record<string, ConfigEntry>;
  /** Scenarios to run after the no-op `up`, before `destroy`. */
  more?(context: LifecycleContext): void;
  /** The deploy user on the host, when it is not this process's user (an SSH host). */
  hostUser?(): string;
  /** The host's address, when it is not this machine's loopback (a test host). */
  address?(): string;
  /** The host's Docker engine, when it is not this machine's (a test host): `unix://…`. */
  dockerHost?(): string;
  /** The image of the first deployment, when the host cannot have one built here (a separate machine). */
  initialImage?: string;
}

export interface LifecycleContext {
  readonly test: () => TestStack;
  readonly httpPort: () => number;
  readonly setService: (service: Record<string, unknown>) => Promise<void>;
  /** Runs one of the project's scripts (cli/<name>.ts) against the stack; never throws. */
  readonly script: (name: string, ...args: string[]) => { status: number; output: string };
  /** The environment's names on its host (its id is known once the first up ran). */
  readonly contract: () => HostContract;
}

const BASE_SERVICE = { name: "app", port: 3000, healthPath: "/healthz", pullPolicy: "never", secretEnv: { APP_TOKEN: "appToken" } };
/** The app's secret: it must never show in a log, an error, the state or the proxies. */
const APP_TOKEN = "e2e-app-token-4c1f9a77";

/**
 * One environment driven through its life, each step building on the previous one:
 * up → serve with a DB round trip → rollout under load → unhealthy rollout → rollout killed
 * half-way → no-op up → [more] → destroy.
 */
export function environmentLifecycle(options: LifecycleOptions): void {
  // The environment's names on its host carry the id its first up probed (read after it).
  let contract: HostContract;
  const label = () => contract.envLabel;
  let test: TestStack;
  let port: number;
  let url: string;
  // The host's engine: this machine's, or a test host's.
  const dockerEnv = () => (options.dockerHost ? { ...process.env, DOCKER_HOST: options.dockerHost() } : process.env);
  const appContainers = () => dockerObjects("ps -a", label(), options.dockerHost?.()).filter((n) => n.startsWith(appContainerPrefix(contract, "app")));
  /** A checksum of a table in the environment's PostgreSQL container: row count and content digest. */
  const tableDigest = (table: string): string => {
    const sql = `SELECT count(*) || ' ' || coalesce(md5(string_agg(t::text, ',' ORDER BY t::text)), '-') FROM ${table} t`;
    return execFileSync("docker", ["exec", contract.dbContainer, "psql", "-qtA", "-U", "permacoop", "-d", "permacoop", "-c", sql], {
      encoding: "utf8",
      env: dockerEnv(),
    }).trim();
  };
  const psql = (sql: string): void => {
    execFileSync("docker", ["exec", contract.dbContainer, "psql", "-q", "-v", "ON_ERROR_STOP=1", "-U", "permacoop", "-d", "permacoop", "-c", sql], {
      stdio: "pipe",
      env: dockerEnv(),
    });
  };
  const setService = async (service: Record<string, unknown>) => {
    await test.stack.setConfig("permacoop:services", { value: JSON.stringify([{ ...BASE_SERVICE, ...service }]) });
  };

  /** Removes everything of the environment from its host: what a rebuilt server has of it. */
  const wipeHost = () => wipeEnvironments(options.env, { dockerHost: options.dockerHost?.(), user: options.hostUser?.() });

  beforeAll(async () => {
    // Leftovers of an interrupted earlier run would make the scenarios lie.
    wipeHost();
    port = await freePort();
    url = `http://${options.address?.() ?? "127.0.0.1"}:${port}/`;
    test = await createTestStack(options.env, {
      ...httpStackConfig(options.host(port), [
        options.initialImage
          ? { ...BASE_SERVICE, image: options.initialImage, env: { APP_VERSION: "v1" } }
          : { ...BASE_SERVICE, image: APP_IMAGE, build: { context: "app" }, env: { APP_VERSION: "v1" } },
      ]),
      "permacoop:appToken": { value: APP_TOKEN, secret: true },
      ...options.extraConfig,
    });
  });

  afterAll(async () => {
    await test?.dispose();
  });

  it("up: serves the app through nginx with a database round trip", async () => {
    const result = await test.stack.up({ color: "never" });
    expect(result.summary.result).toBe("succeeded");
    contract = await deployedContract(test, options.env);
    expect(contract.id).toMatch(new RegExp(`^${options.env}-[0-9a-f]{8}$`)); // a new environment: its names carry the stack's id
    const first = await httpGet(url);
    expect(first.status).toBe(200);
    expect(first.body).toContain("version v1");
    const second = await httpGet(url);
    expect(second.body).toMatch(/database round trip: visit #\d+/);
    expect(second.body).not.toBe(first.body); // the visit counter moved: a real write and read
    expect(second.headers["x-frame-options"]).toBe("DENY");
    expect(second.headers["x-content-type-options"]).toBe("nosniff");
  });

  it("the state holds no secret in plaintext: the database password", async () => {
    const secrets = { databasePassword: databasePassword(contract.dbContainer, options.dockerHost?.()) };
    expect(plaintextSecretsInState(test, secrets)).toEqual([]);
    // The check can fail: what the state does hold in plaintext (its resources' URNs) is found.
    expect(plaintextSecretsInState(test, { control: `urn:pulumi:${test.stack.name}::` })).toEqual(["control"]);
  });

  it("rolls out a new image under continuous load without a failed request", async () => {
    const load = startLoad(url, { keepAlive: true });
    await setService({ image: `${APP_IMAGE}:v2`, env: { APP_VERSION: "v2" } });
    const result = await test.stack.up({ color: "never" });
    const seen = await load.stop();
    expect(result.summary.result).toBe("succeeded");
    expect(seen.total).toBeGreaterThan(100);
    expect(seen).toMatchObject({ failed: 0 });
    expect((await httpGet(url)).body).toContain("version v2");
    expect(await settled(appContainers)).toHaveLength(1);
  });

  it("an unhealthy image fails `up`, and the old version still answers", async () => {
    await setService({ image: `${APP_IMAGE}:v2`, env: { APP_VERSION: "v3", FAIL_HEALTH: "1", DEBUG_ENV: "1" }, healthCheck: { deadlineSeconds: 5 } });
    const error = await test.stack.up({ color: "never" }).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(String(error)).toMatch(/never became healthy/);
    // The app printed its environment: the log tail in the error shows the secrets masked.
    const password = databasePassword(contract.dbContainer, options.dockerHost?.());
    expect(String(error)).toContain('"APP_TOKEN":"[secret]"');
    expect(String(error)).toContain('"DATABASE_PASSWORD":"[secret]"');
    for (const secret of [APP_TOKEN, password]) expect(String(error)).not.toContain(secret);
    expect(plaintextSecretsInState(test, { appToken: APP_TOKEN, databasePassword: password })).toEqual([]);
    // The proxies hold no secret: only the app containers' own environment does (by design).
    const proxies = execFileSync("docker", ["inspect", contract.edgeContainer, contract.switchContainer], { encoding: "utf8", env: dockerEnv() });
    for (const secret of [APP_TOKEN, password]) expect(proxies).not.toContain(secret);
    expect(String(error)).toMatch(/last probe: HTTP 503/);
    expect(String(error)).toMatch(/FAIL_HEALTH=1: reporting unhealthy on purpose|listening on 3000/);
    // The provider's error quotes the failed step's command whole (pulumi-command 1.2.1 does, three
    // times): a short command running the installed script, never the script itself.
    const quoted = /running "((?:[^"\\]|\\.)*)"/.exec(String(error))?.[1];
    expect(quoted).toContain(`${contract.paths.scripts}/rollout-app-`);
    expect(3 * `exit status 1: running "${quoted}":`.length).toBeLessThan(2000);
    expect(String(error)).not.toContain("render_switch_config");
    const page = await httpGet(url);
    expect(page.status).toBe(200);
    expect(page.body).toContain("version v2");
    expect(await settled(appContainers)).toHaveLength(1);
  });

  it("a rollout killed half-way converges on the next up, with no orphan container", async () => {
    await setService({ image: `${APP_IMAGE}:v2`, env: { APP_VERSION: "v4" } });
    const env = { ...process.env, ...test.pulumiCliEnv };
    const child = spawn("pulumi", ["up", "--yes", "--skip-preview", "--stack", options.env, "--color", "never"], {
      cwd: test.workDir,
      env,
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let seen = "";
    child.stdout.on("data", (chunk: Buffer) => (seen += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (seen += chunk.toString()));
    // Half-way: the new container has started, traffic has not moved yet.
    const deadline = Date.now() + 180_000;
    while (appContainers().length < 2) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`the rollout never started its new container:\n${seen}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    // The CLI, its language host and plugins (each in its own process group) and the rollout they
    // run, all at once: nothing of that run may survive it. On a test host the rollout runs under
    // its sshd (another machine's, as far as the run goes), found by its script's path.
    const onHost = options.host(0).kind === "local" ? [] : processesMatching(`/${contract.paths.scripts}/rollout-app-`);
    if (options.host(0).kind !== "local") expect(onHost.length).toBeGreaterThan(0);
    const killed = killProcessTree(child.pid!, onHost);
    await new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve(undefined) : child.on("exit", resolve)));
    const commands = killed.map((p) => p.command).join("\n");
    expect(commands).toMatch(/pulumi-language-nodejs/);
    expect(commands).toMatch(/pulumi-resource-command/);
    expect(commands).toMatch(/rollout-app-[0-9a-f]{12}\.sh/);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(stillAlive(killed.map((p) => p.pid))).toEqual([]);
    // What an operator does after a killed `pulumi up`: release the backend's lock, then re-run.
    execFileSync("pulumi", ["cancel", "--yes", "--stack", options.env], { cwd: test.workDir, env, stdio: "pipe" });
    const result = await test.stack.up({ color: "never" });
    expect(result.summary.result).toBe("succeeded");
    expect((await httpGet(url)).body).toContain("version v4");
    expect(await settled(appContainers)).toHaveLength(1);
  });

  it("a second up with nothing changed changes nothing", async () => {
    const result = await test.stack.up({ color: "never" });
    const changes = Object.entries(result.summary.resourceChanges ?? {}).filter(([op]) => op !== "same");
    expect(changes).toEqual([]);
  });

  const releases = (version: string) => tableDigest(`(SELECT version FROM releases WHERE version = '${version}') `).split(" ")[0];
  const release = { command: "node migrate.js", timeoutSeconds: 60 };
  const releaseDumps = () =>
    execFileSync("bash", ["-c", `ls ~${options.hostUser?.() ?? ""}/${contract.paths.backups} | grep -c -- '-release-app\\.dump$' || true`], {
      encoding: "utf8",
    }).trim();

  it("a release command that fails: up fails with its exit code and output, the new version never serves, the live one does", async () => {
    const dumpsBefore = Number(releaseDumps());
    await setService({ image: `${APP_IMAGE}:v2`, env: { APP_VERSION: "v5", MIGRATE_FAIL: "1" }, release });
    const failed = test.stack.up({ color: "never" });
    await expect(failed).rejects.toThrow(/the release command exited with code 3: app stays on the live version/);
    await expect(failed).rejects.toThrow(/migration for version v5 failed: MIGRATE_FAIL=1/);
    expect((await httpGet(url)).body).toContain("version v4");
    expect(await settled(appContainers)).toHaveLength(1); // no release container, no new version left behind
    expect(releases("v5")).toBe("0");
    expect(Number(releaseDumps())).toBe(dumpsBefore + 1); // the dump before it is kept with the others
  });

  it("a release command that succeeds runs once per version, before the new version serves; a config change alone does not run it again", async () => {
    await setService({ image: `${APP_IMAGE}:v2`, env: { APP_VERSION: "v5" }, release });
    expect((await test.stack.up({ color: "never" })).summary.result).toBe("succeeded");
    expect((await httpGet(url)).body).toContain("version v5");
    expect(releases("v5")).toBe("1");
    // Same image, new environment: a rollout, no release (the record is per image id).
    await setService({ image: `${APP_IMAGE}:v2`, env: { APP_VERSION: "v6" }, release });
    expect((await test.stack.up({ color: "never" })).summary.result).toBe("succeeded");
    expect((await httpGet(url)).body).toContain("version v6");
    expect(releases("v6")).toBe("0");
    expect(releases("v5")).toBe("1");
    expect(await settled(appContainers)).toHaveLength(1);
  });

  const script = (name: string, ...args: string[]) => runCli(test, name, ...args);

  it("backup → wipe → restore gives back identical rows (real pg_dump / pg_restore)", async () => {
    psql("CREATE TABLE e2e_rows (id int PRIMARY KEY, payload text); INSERT INTO e2e_rows SELECT g, md5(g::text) FROM generate_series(1, 5000) g");
    await httpGet(url); // one more visit row
    const before = { rows: tableDigest("e2e_rows"), visits: tableDigest("visits") };
    expect(before.rows).toMatch(/^5000 [0-9a-f]{32}$/);

    const offHost = mkdtempSync(join(tmpdir(), "permacoop-e2e-dumps-"));
    const backup = script("backup", "backup", "-s", options.env, "--download", offHost);
    expect(backup).toMatchObject({ status: 0 });
    const name = /backup (\S+\.dump) /.exec(backup.output)?.[1];
    expect(name).toMatch(new RegExp(`^${options.env}-\\d{8}T\\d{6}Z\\.dump$`));
    // The copy off the host: a pg_dump custom-format archive, readable by this user only.
    expect(backup.output).toContain(`downloaded ${join(offHost, name!)} (sha256 checked)`);
    expect(readFileSync(join(offHost, name!)).subarray(0, 5).toString()).toBe("PGDMP");
    expect(statSync(join(offHost, name!)).mode & 0o777).toBe(0o600);
    rmSync(offHost, { recursive: true, force: true });

    // What a bad release does: a migration adds a table, rows go.
    psql("DROP TABLE e2e_rows; DELETE FROM visits; CREATE TABLE e2e_later (id int)");
    expect(tableDigest("visits")).toBe("0 -");

    const restore = script("backup", "restore", "-s", options.env, name!);
    expect(restore).toMatchObject({ status: 0 });
    expect(restore.output).toMatch(/safety backup[\s\S]*restored/);
    expect({ rows: tableDigest("e2e_rows"), visits: tableDigest("visits") }).toEqual(before);
    expect(() => tableDigest("e2e_later")).toThrow(/does not exist/); // exactly the dump
    expect((await httpGet(url)).status).toBe(200);

    // A dump that breaks halfway (truncated), and one that is no dump (corrupt): each refused, the
    // data exactly as it was, the services serving again.
    const backups = `~${options.hostUser?.() ?? ""}/${contract.paths.backups}`;
    execFileSync("bash", [
      "-c",
      `cd ${backups} && head -c $(( $(stat -c %s ${name}) * 2 / 3 )) ${name} > e2e-truncated.dump && { printf PGDMP; head -c 4096 /dev/urandom; } > e2e-corrupt.dump`,
    ]);
    for (const [bad, reason] of [
      ["e2e-truncated.dump", /restore of e2e-truncated\.dump failed: the database is unchanged/],
      ["e2e-corrupt.dump", /e2e-corrupt\.dump is not a dump this PostgreSQL can restore .*nothing was touched/],
    ] as const) {
      const intact = { rows: tableDigest("e2e_rows"), visits: tableDigest("visits") };
      const refused = script("backup", "restore", "-s", options.env, bad);
      expect(refused.output).toMatch(reason);
      expect(refused.status).toBe(1);
      expect({ rows: tableDigest("e2e_rows"), visits: tableDigest("visits") }).toEqual(intact);
      expect((await httpGet(url)).status).toBe(200);
    }

    const list = script("backup", "backup", "-s", options.env, "--list");
    expect(list.output).toContain(name);
    expect(list.output).toMatch(/-pre-restore\.dump/);
    expect(script("backup", "restore", "-s", options.env, "nope.dump")).toMatchObject({ status: 1, output: expect.stringMatching(/no backup nope\.dump/) });
  });

  it("npm run drift: clean, then a container stopped by hand is reported, then --repair puts it back", async () => {
    const clean = script("drift", "-s", options.env);
    expect(clean.output).toContain("no drift");
    expect(clean.status).toBe(0);

    const live = appContainers()[0]!;
    execFileSync("docker", ["stop", live], { stdio: "ignore", env: dockerEnv() });
    const drifted = script("drift", "-s", options.env);
    expect(drifted.status).toBe(1);
    expect(drifted.output).toContain(`service app: ${live} is exited, expected running`);
    expect(drifted.output).toContain(`npm run drift -- -s ${options.env} --repair`);

    const repaired = script("drift", "-s", options.env, "--repair");
    expect(repaired.output).toContain("no drift");
    expect(repaired.status).toBe(0);
    expect((await httpGet(url)).status).toBe(200);
  });

  options.more?.({ test: () => test, httpPort: () => port, setService, script, contract: () => contract });

  it("a host rebuilt empty behind the same address: drift reports it, --repair redeploys everything (the container database starts empty, and says so)", async () => {
    wipeHost();
    await expect(httpGet(url)).rejects.toThrow();
    const drifted = script("drift", "-s", options.env);
    expect(drifted.status).toBe(1);
    expect(drifted.output).toContain(`no runtime of ${options.env} on this host`);

    const repaired = script("drift", "-s", options.env, "--repair");
    expect(repaired.output).toContain(`${contract.dbVolume} starts EMPTY`);
    expect(repaired.output).toContain("no drift");
    expect(repaired.status).toBe(0);
    // Served again, from an empty database: over HTTPS when the stack has TLS by then (a new certificate).
    const tls = JSON.parse((await test.stack.getConfig("permacoop:tls")).value) as { enabled: boolean };
    const hostConfig = JSON.parse((await test.stack.getConfig("permacoop:host")).value) as { httpsPort?: number };
    const hostname = (JSON.parse((await test.stack.getConfig("permacoop:dns")).value) as { hostnames: string[] }).hostnames[0]!;
    const page = tls.enabled
      ? execFileSync(
          "curl",
          ["-sk", "--resolve", `${hostname}:${hostConfig.httpsPort}:${options.address?.() ?? "127.0.0.1"}`, `https://${hostname}:${hostConfig.httpsPort}/`],
          {
            encoding: "utf8",
          },
        )
      : (await httpGet(url)).body;
    expect(page).toMatch(/database round trip: visit #1\b/);
    expect(await settled(appContainers)).toHaveLength(1);
    expect(script("backup", "backup", "-s", options.env)).toMatchObject({ status: 0 });
  });

  it("destroy leaves no container, network or volume", async () => {
    await test.stack.destroy({ color: "never" });
    expect(dockerObjects("ps -a", label(), options.dockerHost?.())).toEqual([]);
    expect(dockerObjects("network ls", label(), options.dockerHost?.())).toEqual([]);
    expect(dockerObjects("volume ls", label(), options.dockerHost?.())).toEqual([]);
    await expect(httpGet(url)).rejects.toThrow();
    if (options.host(0).kind === "local") {
      // The schedule and the runtime copy go with the environment; the dumps stay.
      const crontab = spawnSync("crontab", ["-l"], { encoding: "utf8" }).stdout ?? "";
      expect(crontab).not.toContain(contract.crontabTag);
      const state = join(homedir(), contract.paths.state);
      expect(existsSync(join(state, "runtime.sh"))).toBe(false);
      expect(readdirSync(join(state, "backups")).length).toBeGreaterThan(0);
      // The release records went with the data: a new database sees every release again.
      expect(existsSync(join(homedir(), contract.paths.releases))).toBe(false);
    }
  });
}
