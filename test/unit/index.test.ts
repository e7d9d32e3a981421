import { ConfigError } from "../../components/config/load";
import { countByType, runProgram } from "../support/mocks";
import { stackConfig } from "../support/stackFiles";
import { EXPECTED, TWO_VMS, twoVms } from "../support/expected";

describe.each(["prod", "rewrite", "local"])("stack file Pulumi.%s.yaml", (stack) => {
  it("parses and declares the expected resources", async () => {
    const { resources, error } = await runProgram(stack);
    expect(error).toBeUndefined();
    expect(countByType(resources)).toEqual(EXPECTED[stack]);
    expect(resources.filter((r) => !r.custom).map((r) => r.type)).toContain("permacoop:index:Environment");
  });

  it("keeps every secret encrypted (secure:) in the file", () => {
    const { secretKeys, structured } = stackConfig(stack);
    expect(secretKeys.sort()).toEqual(stack === "local" ? [] : ["permacoop:calendarToken", "permacoop:sessionSecret"]);
    for (const key of secretKeys) expect(structured[key]).toEqual({ secure: expect.stringMatching(/^v1:/) });
  });
});

describe("Pulumi.prod.yaml with two VMs behind a Load Balancer (host.count 2)", () => {
  it("declares the expected resources, and the offline preview plans the same (test/e2e/preview.test.ts)", async () => {
    const { raw, secretKeys } = stackConfig("prod");
    const host = JSON.stringify(twoVms(JSON.parse(raw["permacoop:host"]!) as object));
    const { resources, error } = await runProgram("prod", { ...raw, "permacoop:host": host }, secretKeys);
    expect(error).toBeUndefined();
    expect(countByType(resources)).toEqual(EXPECTED[TWO_VMS]);
  });
});

describe("index.ts", () => {
  it("validates the configuration before declaring any resource", async () => {
    const { raw, secretKeys } = stackConfig("rewrite");
    const broken = { ...raw, "permacoop:host": JSON.stringify({ kind: "scaleway-vm", adminCidrs: ["everyone"] }) };
    const { resources, error } = await runProgram("rewrite", broken, secretKeys);
    expect((error as Error).name).toBe(ConfigError.name); // a fresh module registry: another class instance
    expect((error as Error).message).toMatch(/permacoop:host\.adminCidrs\[0\][\s\S]*permacoop:host\.sshPublicKeys/);
    expect(resources).toEqual([]);
  });
});
