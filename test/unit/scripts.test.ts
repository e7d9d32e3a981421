import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { renderRolloutScript, RolloutSpec, shellQuote } from "../../components/rollout/rollout";
import { renderRuntimeScript, runtimeCommand, runtimeNames, RuntimeSpec } from "../../components/runtime/runtime";
import { envFile } from "../../components/runtime/dockerRuntime";
import { PROJECT_DIR } from "../support/stackFiles";
import { shellcheck } from "../support/validators";

const names = runtimeNames("prod");
const rolloutSpec: RolloutSpec = {
  environment: "prod",
  service: "app",
  image: "ghcr.io/fairnesscoop/permacoop:main",
  port: 3000,
  healthPath: "/healthz",
  healthIntervalSeconds: 1,
  healthTimeoutSeconds: 5,
  healthDeadlineSeconds: 30,
  network: names.network,
  containerPrefix: names.prefix,
  switchContainer: names.switchContainer,
  switchPort: 8001,
  pullPolicy: "missing",
  keepImages: 3,
  drainSeconds: 30,
  stopTimeoutSeconds: 10,
};
const runtimeSpec: RuntimeSpec = {
  environment: "prod",
  prefix: names.prefix,
  network: names.network,
  nginxImage: "nginx:stable",
  edgeContainer: names.edgeContainer,
  switchContainer: names.switchContainer,
  bindAddress: "0.0.0.0",
  httpPort: 80,
  httpsPort: 443,
  certificate: {
    domains: ["permacoop.example.org", "www.example.org"],
    email: "ops@example.org",
    acmeDirectory: "https://acme-staging-v02.api.letsencrypt.org/directory",
    certbotImage: "certbot/certbot:latest",
    deadlineSeconds: 120,
  },
  database: {
    mode: "container",
    image: "postgres:16",
    container: names.dbContainer,
    volume: names.dbVolume,
    name: "permacoop",
    user: "permacoop",
    backupHour: 3,
    backupRetentionDays: 7,
  },
  services: [
    { name: "app", port: 3000, healthPath: "/healthz" },
    { name: "api", port: 4000, healthPath: "/health" },
  ],
};

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

  it("is run with the action as an argument", () => {
    expect(runtimeCommand("echo", "up")).toBe("bash -c 'echo' runtime up");
  });

  it("matches the snapshot", () => {
    expect(script).toMatchSnapshot();
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
