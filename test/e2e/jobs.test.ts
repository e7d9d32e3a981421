import { execFileSync, spawn, spawnSync } from "node:child_process";
import { HostContract } from "../../components/runtime/contract";
import { containerPsql, createTestStack, runCli, deployedContract, freePort, httpStackConfig, TestStack, wipeEnvironments } from "./harness";
import { APP_IMAGE, prepareImages } from "./lifecycle";

/**
 * Jobs on the local engine: a scheduled job's crontab line, run as cron runs it (its minimal
 * environment, `sh -c`), records a run with the live version's environment; one run at a time;
 * its output shows in `npm run ops -- jobs`; a job no longer declared leaves the crontab; and
 * `npm run ops -- run` runs a one-off command in the live image with the command's exit code.
 */
const ENV = "e2ejobs";

describe("jobs: scheduled and one-off commands in the live image", () => {
  let test: TestStack;
  let names: HostContract;
  let psql: (sql: string) => string;
  const web = (version: string) => ({ name: "web", image: APP_IMAGE, build: { context: "app" }, port: 3000, env: { APP_VERSION: version } });
  const report = { name: "report", service: "web", schedule: "*/5 * * * *", command: "node job.js 2" };
  const cli = (name: string, ...args: string[]) => runCli(test, name, ...args);
  const crontab = () => spawnSync("crontab", ["-l"], { encoding: "utf8" }).stdout ?? "";
  /** The job's crontab line's command, as cron runs it: `sh -c` with cron's minimal environment. */
  const cronCommand = (job: string) => {
    const line = crontab()
      .split("\n")
      .find((l) => l.includes(`:job-${job}`) && l.includes(names.paths.state));
    if (!line) throw new Error(`no crontab line for job ${job}:\n${crontab()}`);
    return line.replace(/^(@\S+|(\S+ ){5})/, "").trim();
  };
  const asCron = (command: string) =>
    new Promise<number>((resolve) => {
      const child = spawn("sh", ["-c", command], {
        env: { HOME: process.env.HOME!, PATH: "/usr/bin:/bin", SHELL: "/bin/sh", LOGNAME: "root" },
        stdio: "ignore",
      });
      child.on("exit", (code) => resolve(code ?? 1));
    });
  const runs = () => psql("SELECT count(*) || ' ' || coalesce(string_agg(DISTINCT version, ','), '') FROM job_runs");

  beforeAll(async () => {
    prepareImages();
    wipeEnvironments(ENV);
    const port = await freePort();
    test = await createTestStack(ENV, { ...httpStackConfig({ kind: "local", httpPort: port }, [web("v1")]), "permacoop:jobs": { value: [report] } });
    expect((await test.stack.up({ color: "never" })).summary.result).toBe("succeeded");
    names = await deployedContract(test, ENV);
    psql = containerPsql(names.dbContainer);
  });

  afterAll(async () => {
    await test?.dispose();
  });

  it("schedules the job; its crontab line runs it in the live image with the service's environment, one run at a time", async () => {
    expect(crontab()).toMatch(new RegExp(`^\\*/5 \\* \\* \\* \\* bash .*/${names.id}/runtime\\.sh job report .*# permacoop:${names.id}:job-report$`, "m"));
    const command = cronCommand("report");
    // Two runs due at once (the job takes 2 s): the second is skipped.
    const [first, second] = await Promise.all([asCron(command), new Promise((r) => setTimeout(r, 500)).then(() => asCron(command))]);
    expect([first, second]).toEqual([0, 0]);
    expect(runs()).toBe("1 v1");
    const jobs = cli("ops", "jobs", "-s", ENV).output;
    expect(jobs).toContain("job report (*/5 * * * *, service web): node job.js 2");
    expect(jobs).toMatch(/job report started: node job\.js 2/);
    expect(jobs).toMatch(/job ran: run #1 by version v1/);
    expect(jobs).toMatch(/job report finished: exit 0 after \d+s/);
    expect(jobs).toMatch(/the previous run still runs: this one is skipped/);
    // No job container left behind, and drift sees none while none runs.
    expect(execFileSync("docker", ["ps", "-aq", "--filter", `name=${names.jobContainerPrefix}`], { encoding: "utf8" }).trim()).toBe("");
  });

  it("runs the new version's image after a rollout", async () => {
    await test.stack.setConfig("permacoop:services", { value: JSON.stringify([web("v2")]) });
    expect((await test.stack.up({ color: "never" })).summary.result).toBe("succeeded");
    expect(await asCron(cronCommand("report"))).toBe(0);
    expect(runs()).toBe("2 v1,v2");
  });

  it("npm run ops -- run: a one-off command in the live image, with its environment and its exit code", () => {
    const ran = cli("ops", "run", "-s", ENV, "web", "--", "node", "job.js");
    expect(ran.output).toContain("job ran: run #3 by version v2");
    expect(ran.status).toBe(0);
    // One string: a command line, run by sh.
    const failed = cli("ops", "run", "-s", ENV, "web", "--", 'echo "host=$DATABASE_HOST"; exit 3');
    expect(failed.output).toContain(`host=${names.dbContainer}`);
    expect(failed.status).toBe(3);
    expect(cli("ops", "run", "-s", ENV, "nope", "--", "true").output).toMatch(/no service nope/);
  });

  it("a job no longer declared leaves the crontab", async () => {
    await test.stack.setConfig("permacoop:jobs", { value: "[]" });
    expect((await test.stack.up({ color: "never" })).summary.result).toBe("succeeded");
    expect(crontab()).not.toContain(`${names.id}:job-report`);
  });
});
