import { execFileSync } from "node:child_process";
import fc from "fast-check";
import { shellQuote, shellVariables, shellWord, variableName } from "../../../../components/runtime/shell";

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

  it("reads any value back as written, as one word, running nothing (property)", () => {
    const text = fc
      .array(fc.constantFrom("'", '"', "$(id)", "`id`", "${HOME}", "\\", "!", "\n", " ", "*", "é", "a", "\t", "$"), { maxLength: 10 })
      .map((p) => p.join(""));
    fc.assert(
      fc.property(fc.oneof(text, fc.string()), (value) => {
        const word = value.replace(/\0/g, "");
        for (const quoted of [shellQuote(word), shellWord(word)]) {
          expect(execFileSync("bash", ["-c", `set -- ${quoted}; printf '%s|%s' "$#" "$1"`], { encoding: "utf8" })).toBe(`1|${word}`);
        }
      }),
      { numRuns: 60 },
    );
  });
});
