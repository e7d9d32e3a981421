import { execFileSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { PROJECT_DIR } from "../../support/stackFiles";

describe("helpers", () => {
  it("every shell script in the repository passes shellcheck", () => {
    const files = ["tools", "cli", "tools/images/postgres"].flatMap((dir) =>
      readdirSync(join(PROJECT_DIR, dir))
        .filter((f) => f.endsWith(".sh"))
        .map((f) => join(PROJECT_DIR, dir, f)),
    );
    expect(files.length).toBeGreaterThan(3);
    const output = execFileSync("shellcheck", ["-x", ...files, join(PROJECT_DIR, ".ci", "run")], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
    expect(output).toBe("");
  });
});
