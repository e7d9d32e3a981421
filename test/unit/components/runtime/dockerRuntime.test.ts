import { envFile } from "../../../../components/runtime/dockerRuntime";

describe("helpers", () => {
  it("writes Docker env files and refuses multi-line values", () => {
    expect(envFile({ A: "1", B: "x=y" })).toBe("A=1\nB=x=y\n");
    expect(() => envFile({ KEY: "line1\nline2" })).toThrow(/KEY/);
  });
});
