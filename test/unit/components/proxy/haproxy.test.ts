import { execFileSync } from "node:child_process";
import * as fc from "fast-check";
import { idleSlot, isSlotServer, renderSwitchGlobal, renderSwitchService, slotServer, switchFileFunction } from "../../../../components/proxy/haproxy";
import { haproxyCheck } from "../../../support/validators";

const app = renderSwitchService({
  service: "app",
  listenPorts: [15836],
  containers: ["pc-prod-app-1-abc"],
  containerPort: 3000,
  slot: "blue",
  idle: "green",
  serverTimeoutSeconds: 60,
  serversPerSlot: 1,
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

  it("has a server per replica in each slot, the live slot's first ones on the live containers", () => {
    const three = renderSwitchService({
      service: "web",
      listenPorts: [8001],
      containers: ["c1", "c2"],
      containerPort: 3000,
      slot: "green",
      idle: "blue",
      serverTimeoutSeconds: 60,
      serversPerSlot: 3,
    });
    expect(three).toMatch(/^# live: c1 c2$/m);
    expect(three.split("\n").filter((l) => l.trim().startsWith("server "))).toEqual([
      "    server green c1:3000 resolvers docker init-addr libc,none",
      "    server green-2 c2:3000 resolvers docker init-addr libc,none",
      "    server green-3 127.0.0.1:3000 resolvers docker disabled",
      "    server blue 127.0.0.1:3000 resolvers docker disabled",
      "    server blue-2 127.0.0.1:3000 resolvers docker disabled",
      "    server blue-3 127.0.0.1:3000 resolvers docker disabled",
    ]);
    // Never fewer servers than live containers.
    expect(
      renderSwitchService({
        service: "web",
        listenPorts: [8001],
        containers: ["a", "b"],
        containerPort: 1,
        slot: "blue",
        idle: "green",
        serverTimeoutSeconds: 1,
        serversPerSlot: 1,
      }),
    ).toContain("server blue-2 b:1 ");
    expect([slotServer("blue", 1), slotServer("blue", 3)]).toEqual(["blue", "blue-3"]);
    expect(["blue", "blue-2", "blue-12", "green", "blue-x", "blueish"].filter((s) => isSlotServer("blue", s))).toEqual(["blue", "blue-2", "blue-12"]);
  });

  it("checks replicas passively (out on a failed connection, back once they accept) and retries an idempotent request one dropped, once", () => {
    const two = renderSwitchService({
      service: "web",
      listenPorts: [8001],
      containers: ["c1", "c2"],
      containerPort: 3000,
      slot: "blue",
      idle: "green",
      serverTimeoutSeconds: 60,
      serversPerSlot: 2,
    });
    expect(two).toContain("default-server check inter 2s fall 1 rise 2 observe layer4 error-limit 1 on-error mark-down");
    expect(two).toContain("retry-on conn-failure empty-response");
    expect(two).toContain("    retries 1\n");
    expect(two).toContain("http-request disable-l7-retry if !METH_GET !METH_HEAD !METH_OPTIONS");
    // One replica: its only server is never marked down; the file is what it was before replicas.
    expect(app).not.toMatch(/default-server|retry-on|retries|disable-l7-retry/);
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
      containers: ["pc-nowhere-api-1", "pc-nowhere-api-2"],
      containerPort: 8080,
      slot: "green",
      idle: "blue",
      serverTimeoutSeconds: 3600,
      serversPerSlot: 3,
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
        fc.array(name, { minLength: 1, maxLength: 3 }),
        fc.constantFrom("blue", "green") as fc.Arbitrary<"blue" | "green">,
        fc.integer({ min: 1, max: 65535 }),
        fc.uniqueArray(fc.integer({ min: 1024, max: 65535 }), { minLength: 1, maxLength: 3 }),
        fc.integer({ min: 1, max: 3600 }),
        fc.integer({ min: 1, max: 4 }),
        (service, containers, slot, containerPort, ports, timeout, serversPerSlot) => {
          const script = `${switchFileFunction()}\nrender_switch_file ${service} '${containers.join(" ")}' ${slot} ${containerPort} ${timeout} ${serversPerSlot} ${ports.join(" ")}`;
          const rendered = execFileSync("bash", ["-c", script], { encoding: "utf8" });
          expect(rendered).toBe(
            renderSwitchService({
              service,
              listenPorts: ports,
              containers,
              containerPort,
              slot,
              idle: idleSlot(slot),
              serverTimeoutSeconds: timeout,
              serversPerSlot,
            }),
          );
        },
      ),
      { numRuns: 25 },
    );
  });
});
