import { execFileSync } from "node:child_process";
import { shellQuote, shellVariables, variableName } from "../../../../components/runtime/shell";

describe("helpers", () => {
  it("quotes any value for bash", () => {
    for (const value of ["plain", "it's", "$(reboot)", "a b\tc", "`x`"]) {
      expect(execFileSync("bash", ["-c", `printf %s ${shellQuote(value)}`], { encoding: "utf8" })).toBe(value);
    }
  });

  it("names each spec key's variable in upper snake case, lists as one word list", () => {
    expect(variableName("dbVolume")).toBe("DB_VOLUME");
    expect(variableName("healthDeadline")).toBe("HEALTH_DEADLINE");
    expect(shellVariables({ certDomains: ["a.example.org", "b.example.org"], httpPort: 80 })).toEqual([
      "CERT_DOMAINS='a.example.org b.example.org'",
      "HTTP_PORT='80'",
    ]);
  });
});
