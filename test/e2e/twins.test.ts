import { HostContract } from "../../components/runtime/contract";
import {
  containerPsql,
  createTestStack,
  databasePassword,
  deployedContract,
  dockerObjects,
  freePort,
  httpGet,
  httpStackConfig,
  tableChecksum,
  TestStack,
  wipeEnvironments,
} from "./harness";
import { APP_IMAGE, prepareImages } from "./lifecycle";

/**
 * Two stacks of the same name on one Docker engine: two clones of the project, each with its own
 * state, or two projects. Each environment's names on the host carry its stack's id, so both run
 * side by side with their own database; one's destroy leaves the other serving with its data.
 */
const ENV = "e2etwins";

describe("two stacks with one name on one engine (two clones)", () => {
  const twins: { test?: TestStack; url?: string; names?: HostContract }[] = [{}, {}];
  const rows = (i: number) => tableChecksum(containerPsql(twins[i]!.names!.dbContainer), "e2e_twin");
  const config = (httpPort: number) =>
    httpStackConfig({ kind: "local", httpPort }, [{ name: "app", image: APP_IMAGE, build: { context: "app" }, port: 3000, healthPath: "/healthz" }]);

  beforeAll(async () => {
    prepareImages();
    wipeEnvironments(ENV);
    for (const twin of twins) {
      const port = await freePort();
      twin.url = `http://127.0.0.1:${port}/`;
      twin.test = await createTestStack(ENV, config(port));
    }
  });

  afterAll(async () => {
    for (const twin of twins) await twin.test?.dispose();
  });

  it("both deploy and serve, each with its own names and its own database", async () => {
    for (const [i, twin] of twins.entries()) {
      expect((await twin.test!.stack.up({ color: "never" })).summary.result).toBe("succeeded");
      twin.names = await deployedContract(twin.test!, ENV);
      expect((await httpGet(twin.url!)).status).toBe(200);
      containerPsql(twin.names.dbContainer)(
        `CREATE TABLE e2e_twin (id int PRIMARY KEY, payload text); INSERT INTO e2e_twin SELECT g, md5((g * ${i + 1})::text) FROM generate_series(1, ${500 * (i + 1)}) g`,
      );
    }
    const [first, second] = twins.map((twin) => twin.names!);
    expect(first!.id).not.toBe(second!.id);
    expect(databasePassword(first!.dbContainer)).not.toBe(databasePassword(second!.dbContainer));
    expect([rows(0), rows(1)].map((r) => r.split(" ")[0])).toEqual(["500", "1000"]);
  });

  it("the second's destroy leaves the first serving with its data; the first changes nothing at its next up", async () => {
    const before = rows(0);
    await twins[1]!.test!.stack.destroy({ color: "never" });
    expect(dockerObjects("ps -a", twins[1]!.names!.envLabel)).toEqual([]);
    expect((await httpGet(twins[0]!.url!)).status).toBe(200);
    expect(rows(0)).toBe(before);
    const again = await twins[0]!.test!.stack.up({ color: "never" });
    expect(Object.entries(again.summary.resourceChanges ?? {}).filter(([op]) => op !== "same")).toEqual([]);
  });
});
