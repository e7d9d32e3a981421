import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { envIdProbe, hostContract, newEnvId, OWNER_VARIABLE, SWITCH_PORTS, switchPort } from "../../../../components/runtime/contract";
import { parse, validConfigInput } from "../../../support/mocks";

const serviceName = fc.stringMatching(/^[a-z][a-z0-9-]{0,30}$/);

describe("switch ports: a function of the service's name, not of its place in the list", () => {
  it("is the same for a name whatever else the stack holds, and in the switch's range", () => {
    fc.assert(
      fc.property(serviceName, (name) => {
        const port = switchPort(name);
        expect(port).toBe(switchPort(name));
        expect(port).toBeGreaterThanOrEqual(SWITCH_PORTS.first);
        expect(port).toBeLessThan(SWITCH_PORTS.first + SWITCH_PORTS.count);
      }),
    );
  });

  it("refuses two services of one stack whose names share a port, naming the second, with a fix that resolves it", () => {
    const seen = new Map<number, string>();
    let pair: [string, string] | undefined;
    for (let i = 0; !pair; i++) {
      const name = `s${i}`;
      const other = seen.get(switchPort(name));
      if (other) pair = [other, name];
      seen.set(switchPort(name), name);
    }
    const config = validConfigInput() as { services: Record<string, unknown>[] };
    const service = (name: string, route: string) => ({ name, image: "ghcr.io/example/app:main", port: 3000, route });
    config.services = [service(pair[0], "/"), service(pair[1], "/b/")];
    expect(() => parse(config, {})).toThrow(
      new RegExp(
        `permacoop:services\\[1\\]\\.name: expected a name whose switch port differs from service "${pair[0]}"'s[\\s\\S]*fix: pulumi config set --path 'permacoop:services\\[1\\]\\.name' ${pair[1]}-1`,
      ),
    );
    config.services = [service(pair[0], "/"), service(`${pair[1]}-1`, "/b/")];
    expect(() => parse(config, {})).not.toThrow();
  });
});

describe("the environment's id on a host: what its names derive from", () => {
  const OURS = "0123456789abcdef";
  const THEIRS = "fedcba9876543210";
  /**
   * Runs the probe as the env-id step does (`runs` times, each as another run of the step), in a
   * home laid out by `setup` (sh), with a `docker` that knows the volumes in `volumes` only.
   * Returns what each run printed, then the home's owner files.
   */
  const probeRuns = (setup: string, options: { runs?: number; volumes?: string[]; owner?: string } = {}) => {
    const home = mkdtempSync(join(tmpdir(), "env-id-"));
    try {
      execFileSync("sh", ["-c", setup], { cwd: home });
      const bin = join(home, "bin");
      mkdirSync(bin);
      const known = (options.volumes ?? []).map((v) => `"${v}"`).join(" ");
      writeFileSync(join(bin, "docker"), `#!/bin/sh\n[ "$1 $2" = "volume inspect" ] && for v in ${known}; do [ "$3" = "$v" ] && exit 0; done\nexit 1\n`, {
        mode: 0o755,
      });
      const me = options.owner ?? OURS;
      const command = `export ${OWNER_VARIABLE}=${me}; ${envIdProbe("local", me)}`;
      const printed = Array.from({ length: options.runs ?? 1 }, () =>
        execFileSync("sh", ["-c", command], { env: { PATH: `${bin}:${process.env.PATH}`, HOME: home }, encoding: "utf8" }).trim(),
      );
      const owners = execFileSync("sh", ["-c", 'for f in .permacoop/*/owner; do [ -f "$f" ] && echo "$f $(cat "$f")"; done; true'], {
        cwd: home,
        encoding: "utf8",
      });
      return { printed, owners: owners.trim().split("\n").filter(Boolean) };
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  };
  const probe = (setup: string, volumes: string[] = []) => probeRuns(setup, { volumes }).printed[0];

  it("is the stack's name and its own id on a host with nothing of it, or another stack's environment of that name", () => {
    expect(newEnvId("local", OURS)).toBe("local-01234567");
    expect(probe("true")).toBe("local-01234567");
    expect(
      probe(`mkdir -p .permacoop/local/scripts && printf ${THEIRS} > .permacoop/local/owner && ln -s scripts/runtime-x.sh .permacoop/local/runtime.sh`),
    ).toBe("local-01234567");
    // A destroyed environment leaves its audit log and backups, and no runtime: not adopted.
    expect(probe("mkdir -p .permacoop/local/backups && touch .permacoop/local/audit.log")).toBe("local-01234567");
  });

  it("is the stack's name alone for an environment this stack deployed before ids, or one that predates stack ids (adopted in place)", () => {
    expect(probe(`mkdir -p .permacoop/local && printf ${OURS} > .permacoop/local/owner`)).toBe("local");
    expect(
      probe("mkdir -p .permacoop/local/scripts && touch .permacoop/local/scripts/runtime-x.sh && ln -s scripts/runtime-x.sh .permacoop/local/runtime.sh"),
    ).toBe("local");
  });

  it("is the id of an environment of that name whose destroy kept its database, that no stack owns now (the next deploy finds the data)", () => {
    expect(probe("mkdir -p .permacoop/local-89abcdef && touch .permacoop/local-89abcdef/data-kept")).toBe("local-89abcdef");
    expect(probe("mkdir -p .permacoop/local && touch .permacoop/local/data-kept")).toBe("local");
    // Kept, then adopted by another stack since: its own now.
    expect(probe(`mkdir -p .permacoop/local-89abcdef && touch .permacoop/local-89abcdef/data-kept && printf ${THEIRS} > .permacoop/local-89abcdef/owner`)).toBe(
      "local-01234567",
    );
    // Another stack name that merely starts like this one.
    expect(probe("mkdir -p .permacoop/local-review-1 && touch .permacoop/local-review-1/data-kept")).toBe("local-01234567");
  });

  it("adopts a database kept under the stack's name alone before kept databases were marked (its volume is there)", () => {
    expect(probe("mkdir -p .permacoop/local/backups", ["pc-local-pgdata"])).toBe("local");
    expect(probe("mkdir -p .permacoop/local/backups", ["pc-other-pgdata"])).toBe("local-01234567");
  });

  it("claims what it adopts: run again it prints the same id, and another stack probing there gets its own", () => {
    const kept = "mkdir -p .permacoop/local-89abcdef && touch .permacoop/local-89abcdef/data-kept";
    expect(probeRuns(kept, { runs: 3 })).toEqual({
      printed: ["local-89abcdef", "local-89abcdef", "local-89abcdef"],
      owners: [`.permacoop/local-89abcdef/owner ${OURS}`],
    });
    const legacy = "mkdir -p .permacoop/local/scripts && touch .permacoop/local/scripts/runtime-x.sh && ln -s scripts/runtime-x.sh .permacoop/local/runtime.sh";
    expect(probeRuns(legacy, { runs: 2 }).printed).toEqual(["local", "local"]);
    // Another stack after this one: the environment is claimed, it gets its own new id.
    const claimed = `${legacy} && printf ${OURS} > .permacoop/local/owner`;
    expect(probeRuns(claimed, { owner: THEIRS }).printed).toEqual(["local-fedcba98"]);
    // A new environment is claimed too: the next run finds it first.
    expect(probeRuns("true", { runs: 2 })).toEqual({ printed: ["local-01234567", "local-01234567"], owners: [`.permacoop/local-01234567/owner ${OURS}`] });
  });

  it("stays its new id once its directory exists, whatever appears under the stack's name alone", () => {
    expect(
      probe(
        `mkdir -p .permacoop/local-01234567 .permacoop/local && printf ${OURS} > .permacoop/local-01234567/owner && printf ${OURS} > .permacoop/local/owner`,
      ),
    ).toBe("local-01234567");
  });

  it("names every container, volume, directory, label and schedule of the environment", () => {
    const names = hostContract("local", "local-01234567");
    expect(names.environment).toBe("local");
    expect([names.edgeContainer, names.dbVolume, names.paths.state, names.envLabel, names.crontabTag]).toEqual([
      "pc-local-01234567-edge",
      "pc-local-01234567-pgdata",
      ".permacoop/local-01234567",
      "permacoop.env=local-01234567",
      "# permacoop:local-01234567:",
    ]);
    expect(hostContract("local")).toMatchObject({ id: "local", prefix: "pc-local", envLabel: "permacoop.env=local" });
  });
});
