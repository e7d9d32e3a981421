import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PROJECT_DIR } from "../support/stackFiles";
import { DUMMY_SCALEWAY_ENV, testPulumiCliEnv } from "./harness";

/** `npm run review` as a user runs it, in a throwaway copy of the project with its own file backend. */
describe("npm run review (real CLI, real Scaleway plugin, offline)", () => {
  const dir = mkdtempSync(join(tmpdir(), "permacoop-e2e-review-"));
  const workDir = join(dir, "project");
  const backendDir = join(dir, "backend");
  const secrets = { PERMACOOP_SECRET_CALENDAR_TOKEN: "dummy-calendar-e2e-7f3a", PERMACOOP_SECRET_SESSION_SECRET: "dummy-session-e2e-91c2" };
  let env: Record<string, string>;

  beforeAll(() => {
    mkdirSync(workDir);
    mkdirSync(backendDir);
    for (const entry of ["Pulumi.yaml", "package.json", "tsconfig.json", "index.ts", "components", "node_modules", "app", "cli", "tools"]) {
      symlinkSync(join(PROJECT_DIR, entry), join(workDir, entry));
    }
    env = {
      ...(process.env as Record<string, string>),
      ...DUMMY_SCALEWAY_ENV,
      ...testPulumiCliEnv(backendDir),
    };
    for (const key of Object.keys(env)) if (key.startsWith("PERMACOOP_SECRET_") || key.startsWith("PERMACOOP_IMAGE_")) delete env[key];
  });

  afterAll(() => {
    // Nothing was created in the cloud; drop the stack if a failed scenario left it.
    review(["42", "--destroy"]);
    rmSync(dir, { recursive: true, force: true });
  });

  function review(args: string[], extraEnv: Record<string, string> = {}): { status: number; output: string } {
    const result = spawnSync("npm", ["run", "--silent", "review", "--", ...args], { cwd: workDir, env: { ...env, ...extraEnv }, encoding: "utf8" });
    return { status: result.status ?? 1, output: `${result.stdout}${result.stderr}` };
  }

  function stacks(): string[] {
    const result = spawnSync("pulumi", ["stack", "ls", "--json", "--non-interactive"], { cwd: workDir, env, encoding: "utf8" });
    expect(result.stderr).not.toMatch(/error/);
    return (JSON.parse(result.stdout) as { name: string }[]).map((s) => s.name);
  }

  const stackFile = () => join(workDir, "Pulumi.review-pr-42.yaml");

  it("refuses to start without the secrets the services need, and creates nothing", () => {
    const { status, output } = review(["42", "--preview"], { PERMACOOP_SECRET_CALENDAR_TOKEN: secrets.PERMACOOP_SECRET_CALENDAR_TOKEN });
    expect(status).not.toBe(0);
    expect(output).toContain("1 secret(s) missing for stack review-pr-42; nothing was changed");
    expect(output).toContain("PERMACOOP_SECRET_SESSION_SECRET");
    expect(stacks()).toEqual([]);
    expect(existsSync(stackFile())).toBe(false);
  });

  it("--preview creates the stack and plans the review environment, changing nothing", () => {
    const digest = "ghcr.io/fairnesscoop/permacoop@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    const { status, output } = review(["42", "--preview", "--image", `app=${digest}`], secrets);
    expect(output).toContain("Previewing update (review-pr-42)");
    expect(status).toBe(0);

    // The plan: a small VM, its IP, security group, one A record; no managed database.
    for (const type of [
      "scaleway:instance:Server",
      "scaleway:instance:Ip",
      "scaleway:instance:SecurityGroup",
      "scaleway:domain:Record",
      "command:remote:Command",
    ]) {
      expect(output).toMatch(new RegExp(`\\+\\s+${type}\\s`));
    }
    expect(output).not.toMatch(/scaleway:databases/);
    expect(output).toMatch(/\+ \d+ to create/);
    expect(output).toMatch(/url\s*: "https:\/\/pr-42\.review\.fairness\.coop"/);

    expect(stacks()).toEqual(["review-pr-42"]);
    const file = readFileSync(stackFile(), "utf8");
    expect(file).toContain("pr-42.review.fairness.coop");
    expect(file).toContain(digest);
    expect(file).toMatch(/permacoop:calendarToken:\n\s+secure: v1:/);
    expect(file).not.toContain(secrets.PERMACOOP_SECRET_CALENDAR_TOKEN);
    expect(file).not.toContain(secrets.PERMACOOP_SECRET_SESSION_SECRET);
    expect(output).not.toContain(secrets.PERMACOOP_SECRET_SESSION_SECRET);

    // Nothing was deployed: the stack has no resources.
    const exported = spawnSync("pulumi", ["stack", "export", "--stack", "review-pr-42", "--non-interactive"], { cwd: workDir, env, encoding: "utf8" });
    const resources = (JSON.parse(exported.stdout) as { deployment: { resources?: unknown[] } }).deployment.resources ?? [];
    expect(resources).toEqual([]);
  });

  it("--destroy removes the stack and its stack file", () => {
    const { status, output } = review(["42", "--destroy"]);
    expect(output).toContain("stack review-pr-42 destroyed and removed");
    expect(status).toBe(0);
    expect(stacks()).toEqual([]);
    expect(existsSync(stackFile())).toBe(false);

    const again = review(["42", "--destroy"]);
    expect(again.status).toBe(0);
    expect(again.output).toContain("no stack review-pr-42: nothing to destroy");
  });

  it("--expire destroys the review stacks with no update for 2 days, as --destroy does, and keeps the others", () => {
    for (const pr of ["7", "8"]) expect(review([pr, "--preview"], secrets)).toMatchObject({ status: 0 });
    // Backdate review-pr-7's last update by three days, where this file backend records it.
    const checkpoint = join(backendDir, ".pulumi", "stacks", "permacoop-infra", "review-pr-7.json");
    const state = JSON.parse(readFileSync(checkpoint, "utf8")) as { checkpoint: { latest: { manifest: { time: string } } } };
    state.checkpoint.latest.manifest.time = new Date(Date.now() - 3 * 24 * 3600 * 1000).toISOString();
    writeFileSync(checkpoint, JSON.stringify(state));
    const { status, output } = review(["--expire"]);
    expect(output).toMatch(/review-pr-7: last update \S+, more than 2 day\(s\) ago: destroying it/);
    expect(output).toContain("stack review-pr-7 destroyed and removed");
    expect(status).toBe(0);
    expect(stacks()).toEqual(["review-pr-8"]);
    expect(existsSync(join(workDir, "Pulumi.review-pr-7.yaml"))).toBe(false);
    expect(existsSync(join(workDir, "Pulumi.review-pr-8.yaml"))).toBe(true);
    expect(review(["--expire", "--days", "1"]).output).toContain("no review stack without an update for 1 day(s)");
    expect(review(["8", "--destroy"])).toMatchObject({ status: 0 });
  });
});
