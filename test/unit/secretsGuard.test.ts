import { execFileSync } from "node:child_process";
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { findPlaintextSecrets } from "../../components/config/secretsGuard";
import { PROJECT_DIR } from "../support/stackFiles";

const stackFiles = readdirSync(PROJECT_DIR).filter((f) => /^Pulumi\..+\.yaml$/.test(f));

describe("secrets guard", () => {
  it.each(stackFiles)("finds no plaintext secret in %s", (file) => {
    expect(findPlaintextSecrets(file, readFileSync(join(PROJECT_DIR, file), "utf8"))).toEqual([]);
  });

  const base = readFileSync(join(PROJECT_DIR, "Pulumi.prod.yaml"), "utf8");
  const planted: [string, string, string][] = [
    [
      "a top-level key named like a secret",
      base.replace(/permacoop:calendarToken:\n\s+secure: .*\n/, "permacoop:calendarToken: hunter2\n"),
      "permacoop:calendarToken",
    ],
    [
      "a key a service reads as a secret",
      base.replace(/permacoop:sessionSecret:\n\s+secure: .*\n/, "permacoop:sessionSecret: hunter2\n"),
      "permacoop:sessionSecret",
    ],
    [
      "a password nested in a service's env",
      base.replace("NODE_ENV: production", "NODE_ENV: production\n        SMTP_PASSWORD: hunter2"),
      "permacoop:services[0].env.SMTP_PASSWORD",
    ],
    [
      "an SSH private key",
      base.replace("config:\n", 'config:\n  permacoop:deployKey: "-----BEGIN OPENSSH PRIVATE KEY-----\\nhunter2\\n-----END OPENSSH PRIVATE KEY-----"\n'),
      "permacoop:deployKey",
    ],
  ];

  it.each(planted)("finds %s", (_what, text, key) => {
    const findings = findPlaintextSecrets("Pulumi.prod.yaml", text);
    expect(findings.map((f) => f.key)).toContain(key);
    expect(JSON.stringify(findings)).not.toContain("hunter2");
  });

  it("fails the CLI (npm test's guard and the pre-commit hook) on a planted secret", () => {
    const dir = mkdtempSync(join(tmpdir(), "guard-"));
    const file = join(dir, "Pulumi.prod.yaml");
    writeFileSync(file, planted[0]![1]);
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
    execFileSync("cp", ["-r", join(PROJECT_DIR, "components", "config"), join(repo, "components")]);
    copyFileSync(join(PROJECT_DIR, "tools", "secrets-guard.ts"), join(repo, "tools", "secrets-guard.ts"));
    copyFileSync(join(PROJECT_DIR, "tsconfig.json"), join(repo, "tsconfig.json"));
    git("config", "core.hooksPath", join(PROJECT_DIR, ".githooks"));
    writeFileSync(join(repo, "Pulumi.prod.yaml"), base);
    git("add", "Pulumi.prod.yaml");
    git("commit", "-q", "-m", "clean");
    writeFileSync(join(repo, "Pulumi.prod.yaml"), planted[0]![1]);
    git("add", "Pulumi.prod.yaml");
    expect(() => git("commit", "-q", "-m", "leak")).toThrow(/plaintext secret/);
  });
});
