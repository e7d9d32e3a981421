import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse as parseYaml } from "yaml";
import { PROJECT_DIR } from "../../support/stackFiles";

const WORKFLOWS = join(PROJECT_DIR, ".github", "workflows");
const files = readdirSync(WORKFLOWS).filter((f) => /\.ya?ml$/.test(f));

/** tools/actionlint.sh builds actionlint once (Go module proxy) into a cache outside the repo. */
const build = spawnSync("bash", [join(PROJECT_DIR, "tools", "actionlint.sh"), "--path"], { encoding: "utf8" });
const actionlintAvailable = build.status === 0;
if (!actionlintAvailable) {
  process.stderr.write(`SKIPPED actionlint tests: the actionlint binary could not be built:\n${build.stderr}\n`);
}
const withActionlint = actionlintAvailable ? describe : describe.skip;

function actionlint(args: string[], cwd = PROJECT_DIR): { status: number; output: string } {
  const result = spawnSync("bash", [join(PROJECT_DIR, "tools", "actionlint.sh"), ...args], { cwd, encoding: "utf8" });
  return { status: result.status ?? 1, output: `${result.stdout}${result.stderr}` };
}

withActionlint("actionlint on the GitHub Actions workflows", () => {
  it("passes on the repository's workflows (shellcheck included)", () => {
    expect(files.sort()).toEqual(["app.yml", "deploy.yml", "preview.yml", "review-expire.yml", "review.yml"]);
    const { status, output } = actionlint([]);
    expect(output).toBe("");
    expect(status).toBe(0);
  });

  it("passes on the app repository's example workflow (docs/examples/app-repository-ci.yml)", () => {
    const { status, output } = actionlint([join(PROJECT_DIR, "docs", "examples", "app-repository-ci.yml")]);
    expect(output).toBe("");
    expect(status).toBe(0);
  });

  it("fails on a broken copy: a shell bug in run:, an unknown matrix property, a misspelt key", () => {
    const dir = mkdtempSync(join(tmpdir(), "permacoop-actionlint-"));
    try {
      mkdirSync(join(dir, ".github", "workflows"), { recursive: true });
      const preview = readFileSync(join(WORKFLOWS, "preview.yml"), "utf8");
      const broken = preview
        .replace("npm ci --no-audit --no-fund #", "npm ci --prefix $POLICY_DIR #")
        .replace("secrets[matrix.passphrase]", "secrets[matrix.passphrases]")
        .replace("timeout-minutes: 30", "timeout-minute: 30");
      expect(broken).not.toBe(preview);
      const file = join(dir, ".github", "workflows", "preview.yml");
      writeFileSync(file, broken);
      const { status, output } = actionlint([file], dir);
      expect(status).not.toBe(0);
      expect(output).toMatch(/SC2086.*\[shellcheck\]/);
      expect(output).toMatch(/property "passphrases" is not defined.*\[expression\]/);
      expect(output).toMatch(/unexpected key "timeout-minute".*\[syntax-check\]/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe.each(files)("workflow %s", (file) => {
  const workflow = parseYaml(readFileSync(join(WORKFLOWS, file), "utf8")) as {
    permissions?: Record<string, string>;
    jobs: Record<string, { steps: { uses?: string }[]; permissions?: unknown }>;
  };

  it("declares its permissions (nothing above read, except PR comments, and the deploy record on main)", () => {
    expect(workflow.permissions).toBeDefined();
    for (const [scope, level] of Object.entries(workflow.permissions ?? {})) {
      if (level === "write") expect(`${file}:${scope}`).toMatch(/^[a-z-]+\.yml:pull-requests$|^app\.yml:contents$/);
      else expect(level).toBe("read");
    }
    for (const job of Object.values(workflow.jobs)) expect(job.permissions).toBeUndefined();
  });

  it("pins every action to a full version", () => {
    const uses = Object.values(workflow.jobs).flatMap((job) => job.steps.flatMap((step) => (step.uses ? [step.uses] : [])));
    expect(uses.length).toBeGreaterThan(0);
    for (const ref of uses) expect(ref).toMatch(/^[\w-]+\/[\w-]+@v\d+\.\d+\.\d+$/);
  });

  it("installs what a GitHub runner needs: node 20, npm ci, the pinned Pulumi CLI through pulumi/actions", () => {
    const steps = Object.values(workflow.jobs).flatMap((job) => job.steps) as { uses?: string; run?: string; with?: Record<string, unknown> }[];
    expect(steps.find((s) => s.uses?.startsWith("actions/setup-node@"))?.with?.["node-version"]).toBe(20);
    expect(steps.some((s) => s.run?.includes("npm ci"))).toBe(true);
    const toolchain = readFileSync(join(PROJECT_DIR, "tools", "toolchain.sh"), "utf8");
    const cliVersion = /^PTC_PULUMI_VERSION=(\S+)$/m.exec(toolchain)?.[1];
    const pulumiSteps = steps.filter((s) => s.uses?.startsWith("pulumi/actions@"));
    expect(pulumiSteps.length).toBeGreaterThan(0);
    for (const step of pulumiSteps) expect(step.with?.["pulumi-version"]).toBe(cliVersion);
    // Stack outputs hold secrets (a VM's deploy key): they never become step outputs.
    for (const step of pulumiSteps.filter((s) => s.with?.command)) expect(step.with?.["suppress-outputs"]).toBe(true);
  });
});
