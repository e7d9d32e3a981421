import { execFileSync } from "node:child_process";
import { EngineEvent } from "@pulumi/pulumi/automation";
import { EXPECTED, TWO_VMS, twoVms } from "../support/expected";
import { SERVERLESS_SECRETS, SERVERLESS_STACK, serverlessConfigInput } from "../support/serverlessStack";
import { ConfigEntry, configOf, createTestStack, DUMMY_SCALEWAY_ENV, plannedTypes, TestStack } from "./harness";

describe.each(["prod", "rewrite"])("pulumi preview of %s (real engine, real Scaleway plugin, offline)", (name) => {
  let test: TestStack;
  afterAll(async () => test?.dispose());

  it("plans exactly the resources the mocks tests declare", async () => {
    test = await createTestStack(name, configOf(name), DUMMY_SCALEWAY_ENV);
    const events: EngineEvent[] = [];
    const result = await test.stack.preview({ onEvent: (e) => events.push(e), color: "never" });
    expect(plannedTypes(events)).toEqual(EXPECTED[name]);
    expect(result.changeSummary.create).toBeGreaterThan(0);
  });
});

describe("pulumi preview of prod with two VMs behind a Load Balancer (real engine, real Scaleway plugin, offline)", () => {
  let test: TestStack;
  afterAll(async () => test?.dispose());

  it("plans exactly the resources the mocks tests declare", async () => {
    test = await createTestStack(
      "prod",
      configOf("prod", (c) => (c["permacoop:host"] = twoVms(c["permacoop:host"] as object))),
      DUMMY_SCALEWAY_ENV,
    );
    const events: EngineEvent[] = [];
    await test.stack.preview({ onEvent: (e) => events.push(e), color: "never" });
    expect(plannedTypes(events)).toEqual(EXPECTED[TWO_VMS]);
  });
});

describe("pulumi preview of the sample scaleway-container stack (real engine, real Scaleway and Docker plugins, offline)", () => {
  let test: TestStack;
  afterAll(async () => test?.dispose());

  it("plans exactly the resources the mocks tests declare, and builds nothing during the preview", async () => {
    const config: Record<string, ConfigEntry> = {
      "scaleway:region": { value: "fr-par" },
      ...Object.fromEntries(Object.entries(serverlessConfigInput()).map(([key, value]) => [`permacoop:${key}`, { value }])),
      ...Object.fromEntries(Object.entries(SERVERLESS_SECRETS).map(([key, value]) => [`permacoop:${key}`, { value, secret: true }])),
    };
    test = await createTestStack(SERVERLESS_STACK, config, DUMMY_SCALEWAY_ENV);
    const events: EngineEvent[] = [];
    const result = await test.stack.preview({ onEvent: (e) => events.push(e), color: "never" });
    expect(plannedTypes(events)).toEqual(EXPECTED[SERVERLESS_STACK]);
    expect(result.changeSummary.create).toBeGreaterThan(0);
    // The registry login is the API secret key: it must never reach the preview's output or its
    // resource events in clear. (The SDK's own debug diagnostics, shown with --debug only, echo
    // every known input, secrets included: they are left out here, as for every other secret.)
    expect(result.stdout).not.toContain(DUMMY_SCALEWAY_ENV.SCW_SECRET_KEY);
    const shown = events.filter((e) => (e.diagnosticEvent?.severity as string | undefined) !== "debug"); // the type omits "debug"
    expect(JSON.stringify(shown)).not.toContain(DUMMY_SCALEWAY_ENV.SCW_SECRET_KEY);
    // A preview builds and pushes nothing: the registry's address is not even known yet.
    expect(execFileSync("docker", ["images", "--quiet", "--filter", "reference=*/permacoop-serverless-sample/*"], { encoding: "utf8" }).trim()).toBe("");
  });
});

describe("a malformed stack configuration", () => {
  let test: TestStack;
  afterAll(async () => test?.dispose());

  it("fails preview and up with the zod message, and creates nothing", async () => {
    const config = configOf("rewrite");
    config["permacoop:host"] = { value: { ...(config["permacoop:host"]!.value as object), adminCidrs: ["everyone"] } };
    config["permacoop:calendarToken"] = { value: "plaintext-token" };
    test = await createTestStack("broken", config, DUMMY_SCALEWAY_ENV);

    await expect(test.stack.preview({ color: "never" })).rejects.toThrow(
      /permacoop:host\.adminCidrs\[0\][\s\S]*pulumi config set --secret permacoop:calendarToken/,
    );
    await expect(test.stack.up({ color: "never" })).rejects.toThrow(/Invalid configuration for stack "broken"/);
    const state = await test.stack.exportStack();
    const resources = (state.deployment as { resources?: { type: string }[] }).resources ?? [];
    expect(resources.filter((r) => r.type !== "pulumi:pulumi:Stack")).toEqual([]);
  });
});
