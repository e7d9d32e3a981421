import { hostContract } from "../../components/runtime/contract";
import { containerPsql, createTestStack, httpStackConfig, databasePassword, freePort, httpGet, tableChecksum, TestStack } from "./harness";
import { APP_IMAGE, prepareImages } from "./lifecycle";

/**
 * Two stacks of the same name on one Docker engine: two clones of the project, each with its own
 * state, or two projects. The names on the host are the stack's, so they would share the
 * database; the second is refused before it touches anything, and its destroy leaves the
 * first's environment serving with its data.
 */
const ENV = "e2etwins";
const contract = hostContract(ENV);

describe("two stacks with one name on one engine (two clones)", () => {
  let first: TestStack;
  let second: TestStack;
  let firstUrl: string;
  const psql = containerPsql(contract.dbContainer);
  const rows = () => tableChecksum(psql, "e2e_twin");
  const config = (httpPort: number) =>
    httpStackConfig({ kind: "local", httpPort }, [{ name: "app", image: APP_IMAGE, build: { context: "app" }, port: 3000, healthPath: "/healthz" }]);

  beforeAll(async () => {
    prepareImages();
    const firstPort = await freePort();
    firstUrl = `http://127.0.0.1:${firstPort}/`;
    first = await createTestStack(ENV, config(firstPort));
    second = await createTestStack(ENV, config(await freePort()));
  });

  afterAll(async () => {
    await second?.dispose();
    await first?.dispose();
  });

  it("the first deploys and serves, with rows", async () => {
    expect((await first.stack.up({ color: "never" })).summary.result).toBe("succeeded");
    expect((await httpGet(firstUrl)).status).toBe(200);
    psql("CREATE TABLE e2e_twin (id int PRIMARY KEY, payload text); INSERT INTO e2e_twin SELECT g, md5(g::text) FROM generate_series(1, 500) g");
  });

  it("the second is refused before it touches anything, and says why", async () => {
    const before = { rows: rows(), password: databasePassword(contract.dbContainer) };
    await expect(second.stack.up({ color: "never" })).rejects.toThrow(/e2etwins here belongs to another stack of that name: nothing changed/);
    expect({ rows: rows(), password: databasePassword(contract.dbContainer) }).toEqual(before);
    expect((await httpGet(firstUrl)).status).toBe(200);
  });

  it("the second's destroy leaves the first serving with its data; the first changes nothing at its next up", async () => {
    const before = rows();
    await second.stack.destroy({ color: "never" });
    expect((await httpGet(firstUrl)).status).toBe(200);
    expect(rows()).toBe(before);
    const again = await first.stack.up({ color: "never" });
    expect(Object.entries(again.summary.resourceChanges ?? {}).filter(([op]) => op !== "same")).toEqual([]);
  });
});
