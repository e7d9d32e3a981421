import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runProgram } from "../support/mocks";

/**
 * Single-host stacks plan exactly what they planned before the multi-host work (#17): every
 * resource of prod's and rewrite's previews, by type and name (a renamed resource is a replaced
 * one: a VM or a database recreated), against the baseline recorded before that change
 * (test/fixtures/plan-baseline.json). Recording it again (`UPDATE_PLAN_BASELINE=1 npx jest
 * test/unit/plan-baseline.test.ts`) is a decision to review in the diff, never a way to get green.
 */
const BASELINE = join(__dirname, "..", "fixtures", "plan-baseline.json");
const STACKS = ["prod", "rewrite"] as const;

async function plan(stack: string): Promise<string[]> {
  const { resources, error } = await runProgram(stack);
  expect(error).toBeUndefined();
  return resources.map((r) => `${r.type}::${r.name}`).sort();
}

describe("the single-host plans", () => {
  if (process.env.UPDATE_PLAN_BASELINE === "1") {
    it("records the baseline", async () => {
      const recorded: Record<string, string[]> = {};
      for (const stack of STACKS) recorded[stack] = await plan(stack);
      writeFileSync(BASELINE, `${JSON.stringify(recorded, null, 2)}\n`);
    });
    return;
  }

  it("has a baseline recorded", () => {
    expect(existsSync(BASELINE)).toBe(true);
  });

  it.each(STACKS)("%s declares the resources of the baseline, by type and name", async (stack) => {
    const baseline = (JSON.parse(readFileSync(BASELINE, "utf8")) as Record<string, string[]>)[stack];
    expect(await plan(stack)).toEqual(baseline);
  });
});
