import { EngineEvent } from "@pulumi/pulumi/automation";
import { EXPECTED } from "../support/expected";
import { stackConfig } from "../support/stackFiles";
import { ConfigEntry, createTestStack, DUMMY_SCALEWAY_ENV, plannedTypes, TestStack } from "./harness";

/** A stack file's configuration, with its secrets replaced by dummy secrets. */
function configOf(stack: string): Record<string, ConfigEntry> {
  const { structured, secretKeys } = stackConfig(stack);
  return Object.fromEntries(
    Object.entries(structured).map(([key, value]) => [key, secretKeys.includes(key) ? { value: `dummy-${key}`, secret: true } : { value }]),
  );
}

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
