import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { hostContract } from "../../components/runtime/contract";
import { startLoad } from "../support/load";
import { PROJECT_DIR } from "../support/stackFiles";
import { containerPsql, createTestStack, httpStackConfig, freePort, httpGet, linkProgram, tableChecksum, TestStack } from "./harness";
import { APP_IMAGE, prepareImages } from "./lifecycle";

/**
 * An environment deployed by the previous release, upgraded in place by this one: what every
 * running environment meets at its first `pulumi up` after a merge. The previous release is
 * taken from this repository's history (a fresh clone has it).
 */
const PREVIOUS_RELEASE = "e120645"; // switch ports by list position, before the config contract of issue 14
const ENV = "e2eupgrade";
const contract = hostContract(ENV);

describe("an environment deployed by the previous release, upgraded in place", () => {
  let previous: string;
  let test: TestStack;
  let url: string;
  const psql = containerPsql(contract.dbContainer);
  const rows = () => tableChecksum(psql, "e2e_kept");

  beforeAll(async () => {
    prepareImages();
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

  it("this release's first up moves the routes under load without a failed request, and keeps the rows", async () => {
    const before = rows();
    linkProgram(test.workDir);
    // Fresh connections: what moves here is each route's switch port. The edge reloads once (its
    // routes change), which may reset an idle keep-alive connection mid-race: issue 15's subject.
    const load = [startLoad(url, { keepAlive: false, connections: 8 }), startLoad(`${url}api/`, { keepAlive: false, connections: 8 })];
    let log = "";
    const result = await test.stack.up({ color: "never", onOutput: (out) => (log += out) });
    const seen = await Promise.all(load.map((l) => l.stop()));
    expect(result.summary.result).toBe("succeeded");
    for (const s of seen) {
      const switchConf = s.failed
        ? execFileSync("docker", ["exec", contract.switchContainer, "sh", "-c", "cat /etc/nginx/conf.d/*.conf"], { encoding: "utf8" })
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
    const again = await test.stack.up({ color: "never" });
    expect(Object.entries(again.summary.resourceChanges ?? {}).filter(([op]) => op !== "same")).toEqual([]);
  });
});
