import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SWITCH_CONF_DIR } from "../../components/proxy/haproxy";
import { hostContract } from "../../components/runtime/contract";
import { startLoad } from "../support/load";
import { PROJECT_DIR } from "../support/stackFiles";
import {
  containerPsql,
  createTestStack,
  deployedContract,
  freePort,
  httpGet,
  httpStackConfig,
  linkProgram,
  tableChecksum,
  TestStack,
  wipeEnvironments,
} from "./harness";
import { APP_IMAGE, prepareImages } from "./lifecycle";

/**
 * An environment deployed by an earlier release, upgraded in place by this one: what every
 * running environment meets at its first `pulumi up` after a merge. The earlier releases are
 * taken from this repository's history (a fresh clone has it). Their names on the host are the
 * stack's name alone: this release adopts them in place (its environment id is the stack's name).
 */
const RELEASES = [
  // Switch ports by list position, before the config contract of issue 14 and stack ids.
  { env: "e2eupold", release: "e120645" },
  // Stack ids recorded on the host (the owner file), names without them, switch reloads unconfirmed.
  { env: "e2eupprev", release: "2607916" },
];

describe.each(RELEASES)("an environment deployed by release $release, upgraded in place", ({ env: ENV, release: PREVIOUS_RELEASE }) => {
  const contract = hostContract(ENV);
  let previous: string;
  let test: TestStack;
  let url: string;
  const psql = containerPsql(contract.dbContainer);
  const rows = () => tableChecksum(psql, "e2e_kept");

  beforeAll(async () => {
    prepareImages();
    wipeEnvironments(ENV);
    previous = mkdtempSync(join(tmpdir(), "permacoop-previous-"));
    execFileSync("bash", [
      "-c",
      `git -C '${PROJECT_DIR}' archive ${PREVIOUS_RELEASE} Pulumi.yaml package.json tsconfig.json index.ts components | tar -x -C '${previous}'`,
    ]);
    symlinkSync(join(PROJECT_DIR, "node_modules"), join(previous, "node_modules")); // its imports resolve next to its files
    const httpPort = await freePort();
    url = `http://127.0.0.1:${httpPort}/`;
    test = await createTestStack(
      ENV,
      httpStackConfig({ kind: "local", httpPort }, [
        { name: "app", image: APP_IMAGE, build: { context: "app" }, port: 3000, healthPath: "/healthz", env: { APP_VERSION: "v1" } },
        { name: "api", image: APP_IMAGE, build: { context: "app" }, port: 3000, route: "/api/", healthPath: "/healthz", env: { APP_VERSION: "api" } },
      ]),
      {},
      previous,
    );
  });

  afterAll(async () => {
    await test?.dispose();
    if (previous) rmSync(previous, { recursive: true, force: true });
  });

  it("the previous release deploys the environment, and it holds rows", async () => {
    expect((await test.stack.up({ color: "never" })).summary.result).toBe("succeeded");
    expect((await httpGet(url)).body).toContain("version v1");
    expect((await httpGet(`${url}api/`)).body).toContain("version api");
    psql("CREATE TABLE e2e_kept (id int PRIMARY KEY, payload text); INSERT INTO e2e_kept SELECT g, md5(g::text) FROM generate_series(1, 2000) g");
    expect(rows()).toMatch(/^2000 [0-9a-f]{32}$/);
  });

  it("this release's first up keeps serving under load without a failed request, and keeps the rows", async () => {
    const before = rows();
    linkProgram(test.workDir);
    // Fresh connections: what may move here is each route's switch port. The edge reloads when its
    // routes change, which may reset an idle keep-alive connection mid-race: issue 15's subject.
    const load = [startLoad(url, { keepAlive: false, connections: 8 }), startLoad(`${url}api/`, { keepAlive: false, connections: 8 })];
    let log = "";
    const result = await test.stack.up({ color: "never", onOutput: (out) => (log += out) });
    const seen = await Promise.all(load.map((l) => l.stop()));
    expect(result.summary.result).toBe("succeeded");
    for (const s of seen) {
      const switchConf = s.failed
        ? execFileSync("docker", ["exec", contract.switchContainer, "sh", "-c", `cat ${SWITCH_CONF_DIR}/*.cfg`], { encoding: "utf8" })
        : "";
      expect({ failed: s.failed, detail: s.failed ? s.detail : "", log: s.failed ? log : "", switchConf }).toEqual({
        failed: 0,
        detail: "",
        log: "",
        switchConf: "",
      });
      expect(s.total).toBeGreaterThan(0);
    }
    expect((await httpGet(url)).body).toContain("version v1");
    expect((await httpGet(`${url}api/`)).body).toContain("version api");
    expect(rows()).toBe(before);
    expect((await deployedContract(test, ENV)).id).toBe(ENV); // adopted in place: the same names, the same volume
    const again = await test.stack.up({ color: "never" });
    expect(Object.entries(again.summary.resourceChanges ?? {}).filter(([op]) => op !== "same")).toEqual([]);
  });
});
