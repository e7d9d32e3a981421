import { execFileSync } from "node:child_process";
import * as fc from "fast-check";
import { idleSlot, renderSwitchGlobal, renderSwitchService, switchFileFunction } from "../../../../components/proxy/haproxy";
import { haproxyCheck } from "../../../support/validators";

const app = renderSwitchService({
  service: "app",
  listenPorts: [15836],
  container: "pc-prod-app-1-abc",
  containerPort: 3000,
  slot: "blue",
  idle: "green",
  serverTimeoutSeconds: 60,
});

describe("switch HAProxy configuration", () => {
  it("records the live container and slot on the lines the rollout reads, and serves from that slot only", () => {
    expect(app).toMatch(/^# live: pc-prod-app-1-abc$/m);
    expect(app).toMatch(/^# slot: blue$/m);
    expect(app).toMatch(/^listen app\n {4}bind :15836\n {4}timeout server 60s\n/m);
    expect(app).toContain("server blue pc-prod-app-1-abc:3000 resolvers docker init-addr libc,none");
    expect(app).toMatch(/server green \S+ resolvers docker disabled/);
    expect(app).toMatchSnapshot();
  });

  it("keeps the admin socket on loopback and retries only what never reached an app", () => {
    const global = renderSwitchGlobal();
    expect(global).toMatch(/stats socket ipv4@127\.0\.0\.1:\d+ level admin/);
    expect(global).toContain("retry-on conn-failure");
    expect(global).not.toMatch(/retry-on .*(empty-response|response-timeout|all-retryable)/);
    expect(global).toContain("option idle-close-on-response");
    expect(global).toMatchSnapshot();
  });

  it("passes haproxy -c, a live container that resolves nowhere included", () => {
    const api = renderSwitchService({
      service: "api",
      listenPorts: [39454, 8002],
      container: "pc-nowhere-api-1",
      containerPort: 8080,
      slot: "green",
      idle: "blue",
      serverTimeoutSeconds: 3600,
    });
    const result = haproxyCheck(renderSwitchGlobal(), { app, api });
    expect(result.output).toContain("Configuration file is valid");
    expect(result.ok).toBe(true);
  });

  it("haproxy -c really rejects a broken configuration (the validator can fail)", () => {
    expect(haproxyCheck(renderSwitchGlobal(), { app: app.replace("bind :15836", "bind :15836 bogus-keyword") }).ok).toBe(false);
  });

  it("the host scripts' renderer writes exactly what renderSwitchService writes", () => {
    const name = fc.stringMatching(/^[a-z][a-z0-9-]{0,20}$/);
    fc.assert(
      fc.property(
        name,
        name,
        fc.constantFrom("blue", "green") as fc.Arbitrary<"blue" | "green">,
        fc.integer({ min: 1, max: 65535 }),
        fc.uniqueArray(fc.integer({ min: 1024, max: 65535 }), { minLength: 1, maxLength: 3 }),
        fc.integer({ min: 1, max: 3600 }),
        (service, container, slot, containerPort, ports, timeout) => {
          const script = `${switchFileFunction()}\nrender_switch_file ${service} ${container} ${slot} ${containerPort} ${timeout} ${ports.join(" ")}`;
          const rendered = execFileSync("bash", ["-c", script], { encoding: "utf8" });
          expect(rendered).toBe(
            renderSwitchService({ service, listenPorts: ports, container, containerPort, slot, idle: idleSlot(slot), serverTimeoutSeconds: timeout }),
          );
        },
      ),
      { numRuns: 25 },
    );
  });
});
