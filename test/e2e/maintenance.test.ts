import { execFileSync } from "node:child_process";
import { ACME_WEBROOT } from "../../components/proxy/nginx";
import { HostContract } from "../../components/runtime/contract";
import { LoadResult, startLoad } from "../support/load";
import { createTestStack, runCli, deployedContract, freePort, httpGet, httpStackConfig, TestStack, wipeEnvironments } from "./harness";
import { APP_IMAGE, prepareImages } from "./lifecycle";

/**
 * Maintenance mode on the local engine: `npm run maintenance` turns every route to a 503 page with
 * Retry-After, but the health paths and ACME, under load and without a failed request around
 * it; it stays on through a rollout, an edge restart and an `up` that re-renders the edge.
 */
const ENV = "e2emaint";

describe("maintenance mode: on and off under load, kept through rollouts, restarts and up", () => {
  let test: TestStack;
  let port: number;
  let names: HostContract;
  const services = (version: string, clientMaxBodySize = "10m") => [
    { name: "web", image: APP_IMAGE, build: { context: "app" }, port: 3000, env: { APP_VERSION: version } },
    { name: "kit", image: APP_IMAGE, build: { context: "app" }, port: 3000, route: "/kit/", stripPrefix: true, clientMaxBodySize, env: { APP_VERSION: "k1" } },
  ];
  const up = async (version: string, clientMaxBodySize?: string) => {
    await test.stack.setConfig("permacoop:services", { value: JSON.stringify(services(version, clientMaxBodySize)) });
    expect((await test.stack.up({ color: "never" })).summary.result).toBe("succeeded");
  };
  const cli = (name: string, ...args: string[]) => runCli(test, name, ...args, "-s", ENV);
  const get = (path: string) => httpGet(`http://127.0.0.1:${port}${path}`);
  /** What maintenance answers on a closed route, and lets through on the open paths. */
  const expectInMaintenance = async (message: string, retryAfter = "120") => {
    for (const path of ["/", "/uri/page", "/kit/uri/x"]) {
      const closed = await get(path);
      expect(closed.status).toBe(503);
      expect(closed.body).toContain(message);
      expect(closed.headers["retry-after"]).toBe(retryAfter);
      expect(closed.headers["cache-control"]).toBe("no-store");
      expect(closed.headers["x-frame-options"]).toBe("DENY");
    }
    // Health paths, through the prefix or not, and ACME challenges stay open.
    expect((await get("/healthz")).status).toBe(200);
    expect((await get("/kit/healthz")).status).toBe(200);
    expect((await get("/.well-known/acme-challenge/e2e-token")).body).toBe("token-body\n");
    // Nor can the page itself be asked for.
    expect((await get("/.permacoop/maintenance.html")).status).not.toBe(200);
  };
  /** Load on `/` for `seconds`. */
  const load = async (seconds: number, during: () => Promise<void> = () => new Promise((r) => setTimeout(r, seconds * 1000))): Promise<LoadResult> => {
    const running = startLoad(`http://127.0.0.1:${port}/uri/load`, { keepAlive: true, connections: 8, maxSeconds: 120 });
    await during();
    return running.stop();
  };

  beforeAll(async () => {
    prepareImages();
    wipeEnvironments(ENV);
    port = await freePort();
    test = await createTestStack(ENV, httpStackConfig({ kind: "local", httpPort: port }, services("v1")));
    expect((await test.stack.up({ color: "never" })).summary.result).toBe("succeeded");
    names = await deployedContract(test, ENV);
    execFileSync("docker", [
      "exec",
      names.edgeContainer,
      "sh",
      "-c",
      `mkdir -p ${ACME_WEBROOT}/.well-known/acme-challenge && echo token-body > ${ACME_WEBROOT}/.well-known/acme-challenge/e2e-token`,
    ]);
  });

  afterAll(async () => {
    await test?.dispose();
  });

  it("turns on under load without a reload: every route answers the page with 503 and Retry-After, health and ACME stay open; no connection fails", async () => {
    const before = await load(3);
    expect(before.failed).toBe(0);
    expect(before.total).toBeGreaterThan(0);

    const around = await load(0, async () => {
      await new Promise((r) => setTimeout(r, 1000));
      const on = cli("maintenance", "on", "--message", "Back at <3> o'clock");
      expect(on.output).toContain("maintenance: on since");
      expect(on.status).toBe(0);
      await new Promise((r) => setTimeout(r, 1500));
    });
    // Answers, 200 then 503: not one socket error or timeout (the edge was not reloaded).
    expect(around.detail).not.toMatch(/Socket errors/);
    expect(around.failed).toBeGreaterThan(0);
    await expectInMaintenance("Back at &lt;3&gt; o&#39;clock", "600");

    // Another message and Retry-After while on: the page at once, the header after a reload.
    expect(cli("maintenance", "on", "--message", "Back at 4", "--retry-after", "120").status).toBe(0);
    await new Promise((r) => setTimeout(r, 1100));
    await expectInMaintenance("Back at 4");
    expect(cli("ops", "status").output).toMatch(/maintenance: on since \S+ by \S+.* \(Retry-After 120 s\)/);
    expect(cli("maintenance", "status").output).toContain("maintenance: on since");
  });

  it("stays on through a rollout, an edge restart and an up that re-renders the edge", async () => {
    await up("v2");
    await expectInMaintenance("Back at 4");
    execFileSync("docker", ["restart", names.edgeContainer]);
    for (let tries = 0; (await get("/healthz").catch(() => ({ status: 0 }))).status !== 200; tries++) {
      expect(tries).toBeLessThan(100);
      await new Promise((r) => setTimeout(r, 100));
    }
    await expectInMaintenance("Back at 4");
    await up("v2", "20m"); // kit's route changes: the edge's configuration is rendered again
    await expectInMaintenance("Back at 4");
    // The new version runs behind the page: its health path answers.
    expect((await get("/healthz")).status).toBe(200);
  }, 300_000);

  it("turns off under load: the new version serves, not one request fails after", async () => {
    const around = await load(0, async () => {
      await new Promise((r) => setTimeout(r, 1000));
      const off = cli("maintenance", "off");
      expect(off.output).toContain("maintenance: off");
      expect(off.status).toBe(0);
      await new Promise((r) => setTimeout(r, 1500));
    });
    expect(around.detail).not.toMatch(/Socket errors/);
    const after = await load(3);
    expect(after.failed).toBe(0);
    expect((await get("/uri/")).body).toBe("v2 /uri/\n");
    expect(cli("ops", "status").output).toContain("maintenance: off");
    // Off again: nothing to do, said so.
    expect(cli("maintenance", "off")).toMatchObject({ status: 0 });
    const audit = cli("ops", "audit").output;
    expect(audit).toMatch(/\tmaintenance=on\tactor=/);
    expect(audit).toMatch(/\tmaintenance=off\tactor=/);
  });
});
