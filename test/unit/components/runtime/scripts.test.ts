import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { renderRolloutScript } from "../../../../components/rollout/rollout";
import { renderRuntimeScript } from "../../../../components/runtime/runtime";
import { hostScript, installBundle, installCommand, runCurrentRuntimeCommand, runScriptCommand } from "../../../../components/runtime/scripts";
import { contract, rolloutSpec, runtimeSpec } from "../../../support/hostSpecs";

describe("installed host scripts", () => {
  const runtime = hostScript("runtime", renderRuntimeScript(runtimeSpec));
  const rollout = hostScript("rollout-app", renderRolloutScript(rolloutSpec));

  it("are named by their content hash under the contract's scripts directory", () => {
    expect(runtime.file).toMatch(/^runtime-[0-9a-f]{12}\.sh$/);
    expect(rollout.file).toMatch(/^rollout-app-[0-9a-f]{12}\.sh$/);
    expect(hostScript("runtime", renderRuntimeScript({ ...runtimeSpec, httpPort: 8080 })).file).not.toBe(runtime.file);
    expect(runScriptCommand(contract, rollout)).toContain(`s="$HOME"/'.permacoop/prod/scripts/${rollout.file}';`);
  });

  it("are run by short commands: a failed step's error quotes a few hundred characters, not the script", () => {
    for (const command of [
      installCommand(contract, [runtime, rollout]),
      runScriptCommand(contract, runtime, "remove-service", "a-long-service-name"),
      runScriptCommand(contract, rollout),
      runCurrentRuntimeCommand(contract, "drop-data"),
    ]) {
      expect(command.length).toBeLessThan(600);
    }
  });

  it("install with POSIX sh into the contract's directory, then run from there (and say so when missing)", () => {
    const home = mkdtempSync(join(tmpdir(), "permacoop-install-"));
    const env = { PATH: process.env.PATH, HOME: home };
    try {
      const missing = spawnSync("sh", ["-c", runScriptCommand(contract, runtime, "backups")], { encoding: "utf8", env });
      expect(missing.status).toBe(1);
      expect(missing.stderr).toContain(`${runtime.file} is not installed on this host: npm run drift -- -s prod --repair installs it`);

      const installed = execFileSync("sh", ["-c", installCommand(contract, [runtime, rollout])], {
        encoding: "utf8",
        env,
        input: installBundle([runtime, rollout]),
      });
      expect(installed).toContain(`${runtime.file} ${rollout.file}`);
      expect(readFileSync(join(home, contract.paths.scripts, runtime.file), "utf8")).toBe(runtime.content);
      expect(readFileSync(join(home, contract.paths.scripts, rollout.file), "utf8")).toBe(rollout.content);

      const backups = execFileSync("sh", ["-c", runScriptCommand(contract, runtime, "backups")], { encoding: "utf8", env });
      expect(backups).toContain(`no backup in ${join(home, contract.paths.backups)} yet`);
      // Deletions run the current runtime; before any `up` there is none, and nothing to undo.
      expect(execFileSync("sh", ["-c", runCurrentRuntimeCommand(contract, "down")], { encoding: "utf8", env })).toContain("no runtime of prod on this host");
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });
});
