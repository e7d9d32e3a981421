import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HostContract } from "../../components/runtime/contract";
import { createTestStack, deployedContract, httpStackConfig, dockerObjects, freePort, httpGet, settled, TestStack } from "./harness";
import { TestRegistry, startRegistry } from "../support/registry";
import { PROJECT_DIR } from "../support/stackFiles";
import { APP_IMAGE, prepareImages } from "./lifecycle";

/**
 * A new version under the same tag (a push to :main) rolls out; the same bytes change nothing.
 * Real engine, real Docker plugin, Debian's docker-registry on loopback: the tag is resolved to
 * the registry's digest before any resource is declared, and the host pulls that digest.
 */
const ENV = "e2edigest";

describe("images by digest: a tag re-pushed with other bytes rolls out (docker-registry on loopback)", () => {
  let dir: string;
  let registry: TestRegistry | undefined;
  let address: string;
  let tag: string;
  let test: TestStack;
  let url: string;
  const digests: Record<string, string> = {};

  /** Pushes an image with APP_VERSION baked in as `tag`; returns the registry's digest. */
  const push = (version: string): string => {
    const build = join(dir, `build-${version}`);
    mkdirSync(build, { recursive: true });
    writeFileSync(join(build, "Dockerfile"), `FROM ${APP_IMAGE}:v2\nENV APP_VERSION=${version}\n`);
    execFileSync("docker", ["build", "--quiet", "--tag", tag, build], { stdio: "ignore" });
    const out = execFileSync("docker", ["push", tag], { encoding: "utf8" });
    return /digest: (sha256:[0-9a-f]{64})/.exec(out)![1]!;
  };

  beforeAll(async () => {
    prepareImages();
    dir = mkdtempSync(join(tmpdir(), "permacoop-e2e-digest-"));
    address = `127.0.0.1:${await freePort()}`;
    tag = `${address}/permacoop/app:main`;
    registry = await startRegistry(dir, [address]);
    const port = await freePort();
    url = `http://127.0.0.1:${port}/`;
    test = await createTestStack(ENV, {
      ...httpStackConfig({ kind: "local", httpPort: port }, [{ name: "app", image: tag, port: 3000, healthPath: "/healthz" }]),
      // A plain-HTTP registry on loopback is named with its scheme for the Docker provider's lookup.
      "docker:registryAuth": { value: [{ address: `http://${address}`, username: "anonymous", password: "unused" }], secret: true },
    });
  });

  afterAll(async () => {
    await test?.dispose();
    await registry?.stop();
    try {
      const refs = execFileSync("docker", ["images", "--format", "{{.ID}}", "--filter", `reference=${address}/permacoop/app`], { encoding: "utf8" });
      for (const id of new Set(refs.split("\n").filter(Boolean))) execFileSync("docker", ["rmi", "-f", id], { stdio: "ignore" });
    } catch {
      // best effort: the images carry a throwaway port in their name
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  let contract: HostContract; // the environment's names carry its id: read after the first up
  const live = () => dockerObjects("ps -a", contract.envLabel).filter((name) => name.startsWith(`${contract.prefix}-app-`));
  const imageOf = (container: string) => execFileSync("docker", ["inspect", "--format", "{{.Config.Image}}", container], { encoding: "utf8" }).trim();

  it("up runs the tag's digest and records it (stack output images, the container)", async () => {
    const digest = push("v1");
    digests.v1 = `${address}/permacoop/app@${digest}`;
    expect((await test.stack.up({ color: "never" })).summary.result).toBe("succeeded");
    contract = await deployedContract(test, ENV);
    expect((await httpGet(url)).body).toContain("version v1");
    const images = (await test.stack.outputs()).images!.value as Record<string, string>;
    expect(images).toEqual({ app: `${address}/permacoop/app@${digest}` });
    expect(live().map(imageOf)).toEqual([`${address}/permacoop/app@${digest}`]);
  });

  it("the same tag pushed again with other bytes rolls out at the next up; an up with the same bytes changes nothing", async () => {
    const digest = push("v2");
    digests.v2 = `${address}/permacoop/app@${digest}`;
    const preview = await test.stack.preview({ color: "never" });
    expect(preview.changeSummary.update ?? 0).toBeGreaterThan(0); // the preview shows the rollout to come
    let log = "";
    expect((await test.stack.up({ color: "never", onOutput: (out) => (log += out) })).summary.result).toBe("succeeded");
    const served = (await httpGet(url)).body;
    // The engine's log when it did not roll out: what it resolved the tag to, what the rollout said.
    expect({ v2: served.includes("version v2"), log: served.includes("version v2") ? "" : log }).toEqual({ v2: true, log: "" });
    expect((await settled(live)).map(imageOf)).toEqual([`${address}/permacoop/app@${digest}`]);
    const again = await test.stack.up({ color: "never" });
    expect(Object.entries(again.summary.resourceChanges ?? {}).filter(([op]) => op !== "same")).toEqual([]);
  });

  it("a registry that does not answer fails up before any change, naming the image and the registry", async () => {
    await registry?.stop();
    const before = live();
    const failed = test.stack.up({ color: "never" });
    await expect(failed).rejects.toThrow(
      new RegExp(`cannot resolve app's image ${tag.replace(/\./g, "\\.")} to a digest: registry ${address.replace(/\./g, "\\.")} did not answer`),
    );
    expect(live()).toEqual(before);
    expect((await httpGet(url)).body).toContain("version v2");
  });

  /** npm run <name> -- … as ops run it, against this test stack. */
  const npmRun = (name: "deploy" | "rollback", ...args: string[]) => {
    const result = spawnSync("npx", ["ts-node", "--transpile-only", join(PROJECT_DIR, "cli", "deploy.ts"), name, ...args], {
      cwd: test.workDir,
      env: { ...process.env, ...test.pulumiCliEnv },
      encoding: "utf8",
    });
    return { status: result.status ?? 1, output: `${result.stdout}${result.stderr}` };
  };
  const configuredImage = async () => JSON.parse((await test.stack.getConfig("permacoop:services")).value)[0].image as string;

  it("npm run rollback: back to the digest that served before, through the same rollout, recorded in the config", async () => {
    const rolled = npmRun("rollback", "-s", ENV, "--yes");
    expect(rolled.output).toContain(`app serves ${digests.v2}; rolling back to ${digests.v1}`);
    expect(rolled.status).toBe(0);
    expect((await httpGet(url)).body).toContain("version v1");
    expect(await configuredImage()).toBe(digests.v1);
    expect((await settled(live)).map(imageOf)).toEqual([digests.v1]);
  });

  it("npm run deploy: a digest given on the command line serves, and the config records it", async () => {
    // The app repository's workflow step, dry: says what it would change and record, touches nothing.
    const dry = npmRun("deploy", "-s", ENV, `app=${digests.v2}`, "--yes", "--record", "--dry-run");
    expect(dry.status).toBe(0);
    expect(dry.output).toContain(`dry run: would set the config above, run pulumi up, then commit Pulumi.${ENV}.yaml: "deploy ${ENV}: app=${digests.v2}"`);
    expect(await configuredImage()).toBe(digests.v1);
    const deployed = npmRun("deploy", "-s", ENV, `app=${digests.v2}`, "--yes");
    expect(deployed.output).toContain(`app: ${digests.v1} → ${digests.v2}`);
    expect(deployed.status).toBe(0);
    expect((await httpGet(url)).body).toContain("version v2");
    expect(await configuredImage()).toBe(digests.v2);
    const unknown = npmRun("deploy", "-s", ENV, `web=${digests.v1}`, "--yes");
    expect(unknown).toMatchObject({ status: 1 });
    expect(unknown.output).toContain("no service web in this stack (services: app)");
  });
});
