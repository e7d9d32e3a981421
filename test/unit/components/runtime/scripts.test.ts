import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { renderRolloutScript } from "../../../../components/rollout/rollout";
import { renderRuntimeScript } from "../../../../components/runtime/runtime";
import { OWNER_REFUSED, OWNER_VARIABLE } from "../../../../components/runtime/contract";
import {
  hostScript,
  installBundle,
  installCommand,
  readHostSource,
  runCurrentRuntimeCommand,
  runScriptCommand,
  uninstallCommand,
} from "../../../../components/runtime/scripts";
import { shellQuote } from "../../../../components/runtime/shell";
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

describe("the stack that owns an environment on a host", () => {
  it("is claimed by the first install; another stack of that name is refused, and its destroy leaves the owner's things", () => {
    const home = mkdtempSync(join(tmpdir(), "owner-"));
    const runtime = hostScript("runtime", "#!/usr/bin/env bash\necho runtime\n");
    const run = (command: string, owner?: string) =>
      spawnSync("sh", ["-c", command], {
        encoding: "utf8",
        input: installBundle([runtime]),
        env: { PATH: process.env.PATH, HOME: home, ...(owner ? { [OWNER_VARIABLE]: owner } : {}) },
      });
    const ownerFile = join(home, contract.paths.owner);
    const scripts = join(home, contract.paths.scripts);
    try {
      expect(run(installCommand(contract, [runtime]), "aaaa1111").status).toBe(0);
      expect(readFileSync(ownerFile, "utf8")).toBe("aaaa1111");
      const refused = run(installCommand(contract, [runtime]), "bbbb2222");
      expect(refused.status).toBe(1);
      expect(refused.stderr).toContain(`prod here ${OWNER_REFUSED}: nothing changed`);
      expect(run(installCommand(contract, [runtime])).status).toBe(0); // a day-2 command carries no id
      const left = run(uninstallCommand(contract), "bbbb2222");
      expect(left.stdout).toContain("belongs to another stack: left alone");
      expect(existsSync(scripts)).toBe(true);
      expect(readFileSync(ownerFile, "utf8")).toBe("aaaa1111");
      expect(run(uninstallCommand(contract), "aaaa1111").status).toBe(0);
      expect(existsSync(scripts)).toBe(false);
      expect(existsSync(ownerFile)).toBe(false);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });
});

describe("lib.sh: what a rollout records is what verify checks", () => {
  /**
   * container_facts (the rollout's one inspect) and env_hash (verify's) against a stub docker
   * answering as `docker inspect -f` does: the template's output, then a newline.
   */
  const hashes = (env: readonly string[]) => {
    const dir = mkdtempSync(join(tmpdir(), "permacoop-lib-"));
    try {
      const envLines = env.map((line) => `${line}\n`).join("");
      writeFileSync(
        join(dir, "docker"),
        [
          "#!/bin/bash",
          `env_lines=${shellQuote(envLines)}`,
          'case "$3" in',
          '  *IPAddress*) printf "10.0.0.2 sha256:abc\\n%s\\n" "$env_lines" ;;',
          '  *) printf "%s\\n" "$env_lines" ;;',
          "esac",
          "",
        ].join("\n"),
        { mode: 0o755 },
      );
      const script = `NETWORK=net\n${readHostSource("lib.sh")}\ncontainer_facts app; env_hash app`;
      const result = spawnSync("bash", ["-c", script], { encoding: "utf8", env: { PATH: `${dir}:${process.env.PATH}`, HOME: dir } });
      expect(result.stderr).toBe("");
      const [facts, verified] = result.stdout.trim().split("\n");
      return { facts: facts!.split(" "), verified };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };

  it.each([[["B=2", "A=1", "PATH=/usr/bin"]], [["ONLY=1"]], [[]]])("container_facts's environment hash is env_hash's (env %j)", (env) => {
    const { facts, verified } = hashes(env);
    expect(facts.slice(0, 2)).toEqual(["10.0.0.2", "sha256:abc"]);
    expect(facts[2]).toMatch(/^[0-9a-f]{16}$/);
    expect(facts[2]).toBe(verified);
  });
});
