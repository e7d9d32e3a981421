import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { renderRolloutScript, rolloutSpec as buildRolloutSpec, RolloutSpec } from "../../components/rollout/rollout";
import { hostContract } from "../../components/runtime/contract";
import { envFile } from "../../components/runtime/dockerRuntime";
import { renderRuntimeScript, runtimeSpec as buildRuntimeSpec, RuntimeSpec } from "../../components/runtime/runtime";
import { hostScript, installBundle, installCommand, runCurrentRuntimeCommand, runScriptCommand } from "../../components/runtime/scripts";
import { shellQuote } from "../../components/runtime/shell";
import { PROJECT_DIR } from "../support/stackFiles";
import { shellcheck } from "../support/validators";
import { parse, validConfigInput } from "./harness";

const contract = hostContract("prod");
const config = parse(
  {
    ...validConfigInput(),
    database: { kind: "container" },
    dns: { provider: "scaleway", zone: "example.org", hostnames: ["permacoop.example.org", "www.example.org"] },
    tls: { enabled: true, email: "ops@example.org", acmeDirectory: "https://acme-staging-v02.api.letsencrypt.org/directory" },
    services: [
      { name: "app", image: "ghcr.io/fairnesscoop/permacoop:main", port: 3000, healthPath: "/healthz" },
      { name: "api", image: "ghcr.io/fairnesscoop/permacoop-api:main", port: 4000, healthPath: "/health", route: "/api/" },
    ],
  },
  {},
);
const rolloutSpec: RolloutSpec = buildRolloutSpec(config.services[0]!, contract, "ghcr.io/fairnesscoop/permacoop:main", 8001);
const runtimeSpec: RuntimeSpec = buildRuntimeSpec(config, contract, { bindAddress: "0.0.0.0", httpPort: 80, httpsPort: 443 });

/** Evaluates the spec header of a rendered script and prints one variable. */
function variable(script: string, name: string): string {
  const header = script.slice(0, script.indexOf("render_switch_config() {") >= 0 ? script.indexOf("render_switch_config() {") : script.indexOf("\n\n"));
  return execFileSync("bash", ["-c", `${header}\nprintf %s "$${name}"`], { encoding: "utf8" });
}

describe("rollout script", () => {
  const script = renderRolloutScript(rolloutSpec);

  it("passes shellcheck", () => {
    const result = shellcheck(script);
    expect(result.output).toBe("");
    expect(result.ok).toBe(true);
  });

  it("reads as the runbook: named steps in order", () => {
    const steps = [...script.matchAll(/^\s*step ([a-z-]+) /gm)].map((m) => m[1]);
    expect(steps).toEqual(["lock", "pull", "cleanup", "start", "health-check", "switch", "drain", "stop", "stop", "prune"]);
  });

  it("carries its spec as shell variables", () => {
    expect(variable(script, "IMAGE")).toBe("ghcr.io/fairnesscoop/permacoop:main");
    expect(variable(script, "HEALTH_DEADLINE")).toBe("30");
    expect(variable(script, "SWITCH")).toBe("pc-prod-switch");
  });

  it("renders the switch file for the container it is given", () => {
    const header = script.slice(0, script.indexOf("SWITCH_CONFIG\n}") + "SWITCH_CONFIG\n}".length);
    const rendered = execFileSync("bash", ["-c", `${header}\nrender_switch_config pc-prod-app-123-abcdef`], { encoding: "utf8" });
    expect(rendered).toContain("# live: pc-prod-app-123-abcdef");
    expect(rendered).toContain("set $live_upstream http://pc-prod-app-123-abcdef:3000;");
  });

  it.each([
    ["another deployment is recorded", "pc-prod-app-9 sha256:9 0123456789abcdef ffffffffffffffff\n"],
    ["no deployment is recorded", undefined],
  ])("in repair mode, leaves the host alone when %s (never rolls back a newer one)", (_what, record) => {
    const home = mkdtempSync(join(tmpdir(), "permacoop-repair-"));
    try {
      if (record) {
        mkdirSync(join(home, ".permacoop", "prod", "services"), { recursive: true });
        writeFileSync(join(home, ".permacoop", "prod", "services", "app"), record);
      }
      const out = execFileSync("bash", ["-c", script], {
        encoding: "utf8",
        input: "APP_ENV=1\n",
        env: { PATH: process.env.PATH, HOME: home, PERMACOOP_REPAIR: "1", PERMACOOP_LOCK_DIR: home },
      });
      expect(out).toMatch(/repair: the host's last deployment of app is another one .*: left alone/);
      expect(out).not.toMatch(/step 2 pull/);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });

  it("changes exactly when the spec changes", () => {
    expect(renderRolloutScript({ ...rolloutSpec })).toBe(script);
    expect(renderRolloutScript({ ...rolloutSpec, image: "ghcr.io/fairnesscoop/permacoop:v2" })).not.toBe(script);
  });

  it("takes the environment on stdin, never as an argument", () => {
    expect(script).toContain('cat >"$envfile"');
    expect(script).toContain('--env-file "$envfile"');
    expect(script).not.toMatch(/docker run[^\n]*\s-e\s/);
  });

  it("refuses a service name that is not a safe identifier", () => {
    expect(() => renderRolloutScript({ ...rolloutSpec, service: "app; rm -rf /" })).toThrow(/invalid service name/);
  });

  it("matches the snapshot", () => {
    expect(script).toMatchSnapshot();
  });
});

describe("runtime script", () => {
  const script = renderRuntimeScript(runtimeSpec);

  it("passes shellcheck", () => {
    const result = shellcheck(script);
    expect(result.output).toBe("");
    expect(result.ok).toBe(true);
  });

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

  it("matches the snapshot", () => {
    expect(script).toMatchSnapshot();
  });
});

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

describe("helpers", () => {
  it("quotes any value for bash", () => {
    for (const value of ["plain", "it's", "$(reboot)", "a b\tc", "`x`"]) {
      expect(execFileSync("bash", ["-c", `printf %s ${shellQuote(value)}`], { encoding: "utf8" })).toBe(value);
    }
  });

  it("writes Docker env files and refuses multi-line values", () => {
    expect(envFile({ A: "1", B: "x=y" })).toBe("A=1\nB=x=y\n");
    expect(() => envFile({ KEY: "line1\nline2" })).toThrow(/KEY/);
  });

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
