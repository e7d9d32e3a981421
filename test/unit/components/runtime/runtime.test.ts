import { execFileSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { renderRuntimeScript } from "../../../../components/runtime/runtime";
import { contract, runtimeSpec, itIsASoundHostScript, variable } from "../../../support/hostSpecs";

describe("runtime script", () => {
  const script = renderRuntimeScript(runtimeSpec);

  itIsASoundHostScript(() => script);

  it("refuses an unknown action", () => {
    expect(() => execFileSync("bash", ["-c", script, "runtime", "explode"], { encoding: "utf8", stdio: "pipe" })).toThrow(/usage: runtime.sh/);
  });

  it("carries the host contract's names and paths as shell variables", () => {
    expect(variable(script, "DB_VOLUME")).toBe(contract.dbVolume);
    expect(variable(script, "ENV_LABEL")).toBe("permacoop.env=prod");
    expect(variable(script, "BACKUPS_DIR")).toBe(".permacoop/prod/backups");
    expect(variable(script, "CERT_DOMAINS")).toBe("permacoop.example.org www.example.org");
    expect(variable(script, "SERVICE_PROBES")).toBe("app=3000/healthz api=4000/health");
  });

  it("carries the jobs one per line, tab-separated, the command last", () => {
    expect(variable(script, "JOBS").split("\n")).toEqual([
      "nightly-report\tapp\t3600\t0 3 * * *\tmake report\t&& echo 'done'",
      "purge\tapi\t60\t@hourly\tnode purge.js",
    ]);
  });

  it("schedules each job in the crontab, keeps the others' lines and removes a job no longer declared", () => {
    const home = mkdtempSync(join(tmpdir(), "runtime-jobs-"));
    const bin = join(home, "bin");
    mkdirSync(bin);
    const table = join(home, "crontab.txt");
    // crontab -l / crontab -: the file above (the new table read whole first, as crontab does).
    writeFileSync(
      join(bin, "crontab"),
      `#!/bin/sh\nif [ "$1" = -l ]; then cat '${table}' 2>/dev/null; else new="$(cat)"; printf '%s\\n' "$new" > '${table}'; fi\n`,
    );
    chmodSync(join(bin, "crontab"), 0o755);
    writeFileSync(table, ["0 1 * * * other-tool # not ours", `5 5 * * * bash x job old # permacoop:prod:job-old`, ""].join("\n"));
    // The script's functions, then one call (what `up` does).
    const functions = script.slice(0, script.indexOf('\nif [[ "${PERMACOOP_REPAIR'));
    execFileSync("bash", ["-c", `${functions}\nschedule_jobs`], { env: { PATH: `${bin}:${process.env.PATH}`, HOME: home }, encoding: "utf8", stdio: "pipe" });
    const lines = readFileSync(table, "utf8").trim().split("\n");
    expect(lines).toContain("0 1 * * * other-tool # not ours");
    expect(lines.some((l) => l.includes("job-old"))).toBe(false);
    expect(lines).toContain(
      `0 3 * * * bash ${home}/.permacoop/prod/runtime.sh job nightly-report >>${home}/.permacoop/prod/job-nightly-report.log 2>&1 # permacoop:prod:job-nightly-report`,
    );
    expect(lines).toContain(
      `@hourly bash ${home}/.permacoop/prod/runtime.sh job purge >>${home}/.permacoop/prod/job-purge.log 2>&1 # permacoop:prod:job-purge`,
    );
  });

  it("matches the snapshot", () => {
    expect(script).toMatchSnapshot();
  });
});
