import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { renderRolloutScript, rolloutSpec as buildRolloutSpec } from "../../../../components/rollout/rollout";
import { config, contract, rolloutSpec, itIsASoundHostScript, variable } from "../../../support/hostSpecs";

describe("rollout script", () => {
  const script = renderRolloutScript(rolloutSpec);

  itIsASoundHostScript(() => script);

  it("reads as the runbook: named steps in order", () => {
    const steps = [...script.matchAll(/^\s*step ([a-z-]+) /gm)].map((m) => m[1]);
    expect(steps).toEqual(["lock", "pull", "release", "release", "start", "cleanup", "health-check", "switch", "drain", "stop", "stop", "prune"]);
  });

  it("carries its spec as shell variables", () => {
    expect(variable(script, "IMAGE")).toBe("ghcr.io/fairnesscoop/permacoop:main");
    expect(variable(script, "HEALTH_DEADLINE")).toBe("30");
    expect(variable(script, "SWITCH")).toBe("pc-prod-switch-haproxy");
    expect(variable(script, "RELEASE_COMMAND")).toBe("make database-migrate");
    expect(variable(script, "RELEASE_TIMEOUT")).toBe("600");
    expect(variable(script, "RELEASE_DUMP")).toBe("true"); // a container database: dumped before the release
  });

  it("dumps before a release only a container database (a managed one keeps its own backups), and only with a release", () => {
    const service = config.services[0]!;
    expect(buildRolloutSpec(service, contract, "app:1", 8001, "scaleway-managed").releaseDump).toBe(false);
    expect(buildRolloutSpec({ ...service, release: undefined }, contract, "app:1", 8001, "container")).toMatchObject({
      releaseDump: false,
      releaseCommand: "",
    });
  });

  it("renders the switch file for the container and slot it is given", () => {
    const header = script.slice(0, script.indexOf("\n}\n", script.indexOf("\nSWITCH_FILE\n")) + 3);
    const rendered = execFileSync("bash", ["-c", `${header}\nrender_switch_file app pc-prod-app-123-abcdef green 3000 60 1 8001`], { encoding: "utf8" });
    expect(rendered).toContain("# live: pc-prod-app-123-abcdef\n# slot: green\n");
    expect(rendered).toContain("bind :8001\n");
    expect(rendered).toContain("server green pc-prod-app-123-abcdef:3000 ");
    expect(rendered).toMatch(/server blue \S+ resolvers docker disabled/);
  });

  /** Runs the rollout in repair mode in a scratch home, with a stub `docker` answering the switch's live container and no containers of the service. */
  const repair = (record: string | undefined, live: string) => {
    const home = mkdtempSync(join(tmpdir(), "permacoop-repair-"));
    try {
      if (record) {
        mkdirSync(join(home, ".permacoop", "prod", "services"), { recursive: true });
        writeFileSync(join(home, ".permacoop", "prod", "services", "app"), record);
      }
      // The switch answers `live` (docker exec); anything else fails like an engine that has nothing.
      writeFileSync(
        join(home, "docker"),
        `#!/bin/sh\nif [ "$1" = exec ]; then printf '%s' '${live}'; exit 0; fi\nif [ "$1" = ps ]; then exit 0; fi\necho "stub docker: $*" >&2; exit 1\n`,
        {
          mode: 0o755,
        },
      );
      const result = spawnSync("bash", ["-c", script], {
        encoding: "utf8",
        input: "APP_ENV=1\n",
        env: { PATH: `${home}:${process.env.PATH}`, HOME: home, PERMACOOP_REPAIR: "1", PERMACOOP_LOCK_DIR: home },
      });
      return `${result.stdout}${result.stderr}`;
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  };

  it.each([
    ["another deployment is recorded", "pc-prod-app-9 sha256:9 0123456789abcdef ffffffffffffffff\n", ""],
    ["no deployment is recorded but one is live", undefined, "pc-prod-app-1-abcdef"],
  ])("in repair mode, leaves the host alone when %s (never rolls back a newer one)", (_what, record, live) => {
    const out = repair(record, live);
    expect(out).toMatch(/repair: the host's last deployment of app is another one .*: left alone/);
    expect(out).not.toMatch(/step 2 pull/);
  });

  it("in repair mode, deploys on a host with no trace of the service (a rebuilt server)", () => {
    const out = repair(undefined, "");
    expect(out).not.toMatch(/left alone/);
    expect(out).toMatch(/step 2 pull/);
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
