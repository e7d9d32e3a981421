import { join } from "node:path";
import { EngineEvent, PolicyEvent } from "@pulumi/pulumi/automation";
import { PROJECT_DIR } from "../support/stackFiles";
import { configOf, createTestStack, DUMMY_SCALEWAY_ENV, TestStack } from "./harness";

/** The pack CI runs: pulumi preview --policy-pack policy. */
const POLICY_PACK = join(PROJECT_DIR, "policy");

const policyEvents = (events: readonly EngineEvent[]): PolicyEvent[] => events.flatMap((e) => (e.policyEvent ? [e.policyEvent] : []));

describe("the policy pack on the real engine (pulumi preview --policy-pack policy, offline)", () => {
  const stacks: TestStack[] = [];
  afterAll(async () => Promise.all(stacks.map((s) => s.dispose())));

  it("passes the prod stack configuration", async () => {
    const test = await createTestStack("prod", configOf("prod"), DUMMY_SCALEWAY_ENV);
    stacks.push(test);
    const events: EngineEvent[] = [];
    const result = await test.stack.preview({ policyPacks: [POLICY_PACK], onEvent: (e) => events.push(e), color: "never" });
    expect(policyEvents(events)).toEqual([]);
    // The pack did run: the engine lists it as passed.
    expect(result.stdout).toMatch(/Policies:\s+✅ permacoop@v0\.1\.0 \(local: .*policy\)/);
    expect(result.changeSummary.create).toBeGreaterThan(0);
  });

  it("fails a prod stack that unprotects its database, opens SSH to the world and turns TLS off, naming each rule", async () => {
    const config = configOf("prod", (c) => {
      c["permacoop:database"].protect = false;
      c["permacoop:host"].adminCidrs.push("0.0.0.0/0");
      c["permacoop:tls"] = { enabled: false };
    });
    const test = await createTestStack("prod", config, DUMMY_SCALEWAY_ENV);
    stacks.push(test);
    const events: EngineEvent[] = [];
    await expect(test.stack.preview({ policyPacks: [POLICY_PACK], onEvent: (e) => events.push(e), color: "never" })).rejects.toThrow(
      /prod-data-protected[\s\S]*security-group-default-drop[\s\S]*tls-on-public-hosts/,
    );
    const found = policyEvents(events).map((e) => ({
      policy: e.policyName,
      level: e.enforcementLevel,
      on: e.resourceUrn?.split("::").pop(),
      message: e.message,
    }));
    expect(found.sort((a, b) => a.policy.localeCompare(b.policy))).toEqual([
      {
        policy: "prod-data-protected",
        level: "mandatory",
        on: "prod-db-instance",
        message: expect.stringContaining("pulumi config set --path permacoop:database.protect true -s prod"),
      },
      {
        policy: "security-group-default-drop",
        level: "mandatory",
        on: "prod-host-sg",
        message: expect.stringMatching(/admits SSH \(port 22\) from 0\.0\.0\.0\/0[\s\S]*permacoop:host\.adminCidrs/),
      },
      {
        policy: "tls-on-public-hosts",
        level: "mandatory",
        on: "permacoop-infra-prod",
        message: expect.stringContaining("pulumi config set --path permacoop:tls.enabled true -s prod"),
      },
    ]);
  });
});
