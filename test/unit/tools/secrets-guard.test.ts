import { execFileSync } from "node:child_process";
import { copyFileSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PLANTED_SECRETS, PROD_STACK_FILE } from "../../support/plantedSecrets";
import { PROJECT_DIR } from "../../support/stackFiles";

describe("secrets guard", () => {
  it("fails the CLI (npm test's guard and the pre-commit hook) on a planted secret", () => {
    const dir = mkdtempSync(join(tmpdir(), "guard-"));
    const file = join(dir, "Pulumi.prod.yaml");
    writeFileSync(file, PLANTED_SECRETS[0]![1]);
    const run = () =>
      execFileSync("npx", ["ts-node", "--transpile-only", join(PROJECT_DIR, "tools", "secrets-guard.ts"), file], {
        cwd: PROJECT_DIR,
        encoding: "utf8",
        stdio: "pipe",
      });
    expect(run).toThrow(/permacoop:calendarToken: its name says it is a secret/);
  });

  it("the pre-commit hook refuses to commit a plaintext secret and lets a clean file through", () => {
    const repo = mkdtempSync(join(tmpdir(), "hook-"));
    const git = (...args: string[]) =>
      execFileSync("git", ["-c", "user.name=t", "-c", "user.email=t@example.org", ...args], { cwd: repo, encoding: "utf8", stdio: "pipe" });
    git("init", "-q");
    execFileSync("ln", ["-s", join(PROJECT_DIR, "node_modules"), join(repo, "node_modules")]);
    execFileSync("mkdir", ["-p", join(repo, "tools"), join(repo, "components")]);
    execFileSync("cp", ["-r", join(PROJECT_DIR, "components"), repo]); // the guard loads the config contract and what it imports
    copyFileSync(join(PROJECT_DIR, "tools", "secrets-guard.ts"), join(repo, "tools", "secrets-guard.ts"));
    copyFileSync(join(PROJECT_DIR, "tsconfig.json"), join(repo, "tsconfig.json"));
    git("config", "core.hooksPath", join(PROJECT_DIR, ".githooks"));
    writeFileSync(join(repo, "Pulumi.prod.yaml"), PROD_STACK_FILE);
    git("add", "Pulumi.prod.yaml");
    git("commit", "-q", "-m", "clean");
    writeFileSync(join(repo, "Pulumi.prod.yaml"), PLANTED_SECRETS[0]![1]);
    git("add", "Pulumi.prod.yaml");
    expect(() => git("commit", "-q", "-m", "leak")).toThrow(/plaintext secret/);
  });
});
