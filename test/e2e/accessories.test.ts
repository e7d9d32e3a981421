import { execFileSync } from "node:child_process";
import { accessoryNames, HostContract } from "../../components/runtime/contract";
import { createTestStack, deployedContract, freePort, httpGet, httpStackConfig, plaintextSecretsInState, runCli, TestStack, wipeEnvironments } from "./harness";
import { APP_IMAGE, prepareImages } from "./lifecycle";

/**
 * Accessories on the local engine: an S3 object store (the minio/minio image, or where no registry
 * answers an equivalent running versitygw, a real S3 server) and Redis (Debian's where no registry
 * answers), used by the reference app through the variables every service receives; their data
 * survives a restart and a change of image (a restart, shown in the preview); a backup of each
 * (a bucket mirror, an RDB snapshot) restores what it held; no password in plaintext in the state,
 * the engine's output or the proxies; destroy removes their volumes and keeps their backups.
 */
const ENV = "e2eacc";
const ACCESSORIES = [
  { name: "files", type: "s3" },
  { name: "cache", type: "redis" },
  // Any image with a data directory: Redis again, run as the image runs it (no password).
  { name: "kvs", type: "generic", image: "redis:7", port: 6379, dataPath: "/data" },
];

describe("accessories: s3 and redis beside the services, backed up and restored", () => {
  let test: TestStack;
  let names: HostContract;
  let url: string;
  const web = { name: "web", image: APP_IMAGE, build: { context: "app" }, port: 3000 };
  const docker = (...args: string[]) => execFileSync("docker", args, { encoding: "utf8" }).trim();
  const containerOf = (name: string) => accessoryNames(names, name).container;
  const passwordOf = (name: string, variable: string) =>
    docker("inspect", "-f", "{{range .Config.Env}}{{println .}}{{end}}", containerOf(name))
      .split("\n")
      .find((line) => line.startsWith(`${variable}=`))!
      .slice(variable.length + 1);
  const roundTrip = async (key: string, value?: string) => {
    const page = await httpGet(`${url}/accessories?key=${key}${value === undefined ? "" : `&value=${value}`}`);
    expect(page.status).toBe(200);
    return JSON.parse(page.body) as { redis?: string | null; s3?: string | null };
  };

  beforeAll(async () => {
    prepareImages(["redis:7=tools/images/redis", "minio/minio:latest=tools/images/minio"]);
    wipeEnvironments(ENV);
    const port = await freePort();
    test = await createTestStack(ENV, { ...httpStackConfig({ kind: "local", httpPort: port }, [web]), "permacoop:accessories": { value: ACCESSORIES } });
  });

  afterAll(async () => {
    await test?.dispose();
  });

  it("starts each accessory with its volume, and the services reach them through their variables", async () => {
    const up = await test.stack.up({ color: "never" });
    expect(up.summary.result).toBe("succeeded");
    names = await deployedContract(test, ENV);
    url = String((await test.stack.outputs()).url?.value);
    for (const name of ["files", "cache", "kvs"]) {
      expect(docker("inspect", "-f", "{{.State.Running}}", containerOf(name))).toBe("true");
      expect(docker("volume", "inspect", "-f", "{{.Name}}", accessoryNames(names, name).volume)).toBe(accessoryNames(names, name).volume);
    }
    expect(await roundTrip("k1", "v1")).toEqual({ redis: "v1", s3: "v1" });
    // The generic one: reached by its name on the environment's network, as KVS_HOST says to the services.
    expect(docker("exec", containerOf("kvs"), "redis-cli", "set", "g", "v1")).toBe("OK");
    // Passwords: in the accessories' and the services' environment only (by design), nowhere else.
    const secrets = { s3: passwordOf("files", "MINIO_ROOT_PASSWORD"), redis: passwordOf("cache", "REDIS_PASSWORD") };
    expect(plaintextSecretsInState(test, secrets)).toEqual([]);
    for (const secret of Object.values(secrets)) {
      expect(up.stdout + up.stderr).not.toContain(secret);
      expect(docker("inspect", names.edgeContainer, names.switchContainer)).not.toContain(secret);
      // Never on a command line: not in any process's argv on this machine.
      expect(execFileSync("ps", ["-eo", "args"], { encoding: "utf8" })).not.toContain(secret);
    }
  });

  it("keeps their data across a restart, and a change of image restarts them (shown in the preview) with their data", async () => {
    docker("restart", containerOf("files"), containerOf("cache"));
    await new Promise((resolve) => setTimeout(resolve, 2000));
    expect(await roundTrip("k1")).toEqual({ redis: "v1", s3: "v1" });
    docker("tag", "redis:7", "redis:7-e2e");
    await test.stack.setConfig("permacoop:accessories", {
      value: JSON.stringify([ACCESSORIES[0], { ...ACCESSORIES[1], image: "redis:7-e2e" }, ACCESSORIES[2]]),
    });
    const preview = await test.stack.preview({ color: "never", diff: true });
    expect(preview.changeSummary.update ?? 0).toBeGreaterThan(0);
    // The accessory's own step shows the change (its image); the other accessories' steps do not.
    expect(preview.stdout).toMatch(/~ command:local:Command: \(update\)\s+\[id=\S+\]\s+\[urn=\S+::\S+-accessory-cache\]/);
    expect(preview.stdout).toMatch(/redis:7-e2e/);
    expect(preview.stdout).not.toMatch(/\[urn=\S+-accessory-(files|kvs)\]/);
    const started = docker("inspect", "-f", "{{.State.StartedAt}}", containerOf("cache"));
    expect((await test.stack.up({ color: "never" })).summary.result).toBe("succeeded");
    expect(docker("inspect", "-f", "{{.Config.Image}} {{.State.StartedAt}}", containerOf("cache"))).not.toBe(`redis:7-e2e ${started}`);
    expect(docker("inspect", "-f", "{{.Config.Image}}", containerOf("cache"))).toBe("redis:7-e2e");
    expect(await roundTrip("k1")).toEqual({ redis: "v1", s3: "v1" });
  });

  it("npm run drift: clean; an accessory stopped by hand is reported, and --repair starts it with its data", async () => {
    const clean = runCli(test, "drift", "-s", ENV);
    expect(clean.output).toContain("no drift");
    expect(clean.status).toBe(0);
    docker("stop", containerOf("cache"));
    const drifted = runCli(test, "drift", "-s", ENV);
    expect(drifted.status).toBe(1);
    expect(drifted.output).toContain(`accessory cache: ${containerOf("cache")} is "exited redis:7-e2e", expected "running redis:7-e2e"`);
    const repaired = runCli(test, "drift", "-s", ENV, "--repair");
    expect(repaired.output).toContain("no drift");
    expect(repaired.status).toBe(0);
    expect(await roundTrip("k1")).toEqual({ redis: "v1", s3: "v1" });
  });

  it("backs each up (npm run backup), and a restore gives back what the backup held", async () => {
    const kv = (...args: string[]) => docker("exec", containerOf("kvs"), "redis-cli", ...args);
    kv("save"); // the generic backup copies its files: what Redis has written to them
    // A key a listing escapes (XML entities, numeric ones included) and that holds a "directory".
    const odd = encodeURIComponent('dir/a "b" & c.txt');
    expect(await roundTrip(odd, "odd")).toEqual({ redis: "odd", s3: "odd" });
    const backup = runCli(test, "backup", "backup", "-s", ENV);
    expect(backup.status === 0 ? "" : backup.output).toBe("");
    const mirror = /backup (\S+\.files\.s3) /.exec(backup.output)?.[1];
    const snapshot = /backup (\S+\.cache\.rdb) /.exec(backup.output)?.[1];
    expect(mirror).toBeDefined();
    expect(snapshot).toBeDefined();
    const tar = /backup (\S+\.kvs\.tar) /.exec(backup.output)?.[1];
    expect(tar).toBeDefined();
    expect(runCli(test, "backup", "backup", "-s", ENV, "--list").output).toContain(snapshot!);
    // Changed after the backup: a value overwritten, a key added.
    expect(await roundTrip("k1", "changed")).toEqual({ redis: "changed", s3: "changed" });
    expect(await roundTrip("k2", "new")).toEqual({ redis: "new", s3: "new" });
    const redisRestore = runCli(test, "backup", "restore", "-s", ENV, snapshot!, "--yes");
    expect(redisRestore).toMatchObject({ status: 0 });
    expect(redisRestore.output).toMatch(/safety backup[\s\S]*restored cache/);
    expect(await roundTrip("k1")).toEqual({ redis: "v1", s3: "changed" });
    expect(await roundTrip("k2")).toEqual({ redis: null, s3: "new" });
    expect(await roundTrip(odd, "overwritten")).toEqual({ redis: "overwritten", s3: "overwritten" });
    expect(runCli(test, "backup", "restore", "-s", ENV, mirror!, "--yes")).toMatchObject({ status: 0 });
    expect((await roundTrip(odd)).s3).toBe("odd");
    expect(await roundTrip("k1")).toEqual({ redis: "v1", s3: "v1" });
    expect(await roundTrip("k2")).toEqual({ redis: null, s3: null });
    kv("set", "g", "changed");
    kv("save");
    expect(runCli(test, "backup", "restore", "-s", ENV, tar!, "--yes")).toMatchObject({ status: 0 });
    expect(kv("get", "g")).toBe("v1");
    // A backup that is not one: refused, nothing touched.
    const bogus = runCli(test, "backup", "restore", "-s", ENV, tar!.replace(".kvs.tar", ".nosuch.tar"), "--yes");
    expect(bogus.status).not.toBe(0);
    expect(kv("get", "g")).toBe("v1");
  });

  it("destroy removes their containers and volumes, and keeps their backups", async () => {
    expect((await test.stack.destroy({ color: "never" })).summary.result).toBe("succeeded");
    for (const name of ["files", "cache", "kvs"]) {
      expect(docker("ps", "-aq", "--filter", `name=^${containerOf(name)}$`)).toBe("");
      expect(docker("volume", "ls", "-q", "--filter", `name=^${accessoryNames(names, name).volume}$`)).toBe("");
    }
    // Each accessory's last state, taken as its step removed it.
    const backups = execFileSync("bash", ["-c", `ls ~/${names.paths.backups}`], { encoding: "utf8" });
    for (const name of ["files.s3", "cache.rdb", "kvs.tar"]) expect(backups).toMatch(new RegExp(`-final\\.${name.replace(".", "\\.")}$`, "m"));
  });
});
