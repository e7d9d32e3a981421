import { parseBackupArgs } from "../../cli/backup";
import { parseDriftArgs, replayableCommands } from "../../cli/drift";
import { parseOpsArgs } from "../../cli/ops";

describe("npm run ops arguments", () => {
  it("reads an action, a stack and an optional service", () => {
    expect(parseOpsArgs(["status", "-s", "prod"])).toEqual({ action: "status", stack: "prod", service: undefined });
    expect(parseOpsArgs(["logs", "--stack", "rewrite", "api"])).toEqual({ action: "logs", stack: "rewrite", service: "api" });
    expect(parseOpsArgs(["exec", "app", "-s", "local"])).toEqual({ action: "exec", stack: "local", service: "app" });
  });

  it.each([
    [[], /unknown action: none/],
    [["reboot", "-s", "prod"], /unknown action: reboot/],
    [["status"], /missing -s <stack>/],
    [["logs", "-s", "prod", "app", "extra"], /unexpected: extra/],
  ])("refuses %j with the usage", (argv, reason) => {
    expect(() => parseOpsArgs(argv as string[])).toThrow(/usage: npm run ops -- <status\|logs\|exec\|psql\|audit> -s <stack> \[service\]/);
    expect(() => parseOpsArgs(argv as string[])).toThrow(reason);
  });
});

describe("npm run backup / restore arguments", () => {
  it("takes a backup, lists them, or restores one by name", () => {
    expect(parseBackupArgs("backup", ["-s", "local"])).toEqual({ action: "backup", stack: "local" });
    expect(parseBackupArgs("backup", ["--list", "-s", "local"])).toEqual({ action: "list", stack: "local" });
    expect(parseBackupArgs("backup", ["-s", "prod", "--download", "./final"])).toEqual({ action: "backup", stack: "prod", download: "./final" });
    expect(parseBackupArgs("restore", ["-s", "prod", "prod-20261121T030000Z-daily.dump"])).toEqual({
      action: "restore",
      stack: "prod",
      backup: "prod-20261121T030000Z-daily.dump",
      yes: false,
    });
    expect(parseBackupArgs("restore", ["prod-1.dump", "--yes", "-s", "prod"])).toMatchObject({ yes: true });
  });

  it.each([
    ["backup", [], /missing -s <stack>/],
    ["backup", ["-s", "prod", "now"], /unexpected: now/],
    ["backup", ["-s", "prod", "--download"], /--download needs a directory/],
    ["backup", ["-s", "prod", "--list", "--download", "d"], /--list or --download, not both/],
    ["restore", ["-s", "prod"], /missing <backup>: list them with npm run backup -- -s prod --list/],
    ["restore", ["-s", "prod", "../../etc/passwd"], /expected a backup name/],
    ["restore", ["-s", "prod", "a.dump", "b.dump"], /unexpected: a.dump b.dump/],
  ] as const)("refuses %s %j with the usage", (command, argv, reason) => {
    expect(() => parseBackupArgs(command, argv)).toThrow(/usage: npm run (backup|restore) --/);
    expect(() => parseBackupArgs(command, argv)).toThrow(reason);
  });
});

describe("npm run drift", () => {
  it("reads -s <stack> and --repair", () => {
    expect(parseDriftArgs(["-s", "prod"])).toEqual({ stack: "prod", repair: false });
    expect(parseDriftArgs(["--repair", "-s", "prod"])).toEqual({ stack: "prod", repair: true });
    expect(() => parseDriftArgs(["prod"])).toThrow(/usage: npm run drift -- -s <stack> \[--repair\]/);
  });

  it("replays the scripts, the runtime, then the proxy, then the rollouts, with their recorded stdin; nothing else", () => {
    const command = (name: string, create: string, stdin?: string) => ({
      urn: `urn:pulumi:s::permacoop::permacoop:index:Environment$command:local:Command::${name}`,
      type: "command:local:Command",
      inputs: { create, ...(stdin ? { stdin } : {}) },
    });
    const replayed = replayableCommands(
      [
        command("s-runtime-app-rollout", "rollout app", "APP_ENV=1\n"),
        command("s-runtime-scripts", "install", "bundle"),
        command("s-runtime-certificate", "certificate"),
        command("s-runtime-proxy", "proxy", "edge"),
        command("s-runtime-data", "data"),
        { ...command("s-runtime-api-rollout", "rollout api (being deleted)"), delete: true },
        { ...command("s-runtime-web-rollout", "rollout web (being replaced)"), pendingReplacement: true },
        {
          ...command("s-runtime-runtime", "up"),
          // A secret as `pulumi stack export --show-secrets` prints it.
          inputs: { create: "up", stdin: { "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", plaintext: '"POSTGRES_PASSWORD=x\\n"' } },
        },
        { urn: "urn:pulumi:s::permacoop::random:index/randomPassword:RandomPassword::s-db-password", type: "random:index/randomPassword:RandomPassword" },
      ],
      "s",
      ["app"],
    );
    expect(replayed.map((c) => [c.create, c.stdin])).toEqual([
      ["install", "bundle"],
      ["up", "POSTGRES_PASSWORD=x\n"],
      ["proxy", "edge"],
      ["rollout app", "APP_ENV=1\n"],
    ]);
  });

  it("finds the steps by the host contract's names: a step missing from the state fails, never skipped", () => {
    const command = (name: string) => ({
      urn: `urn:pulumi:s::permacoop::command:remote:Command::${name}`,
      type: "command:remote:Command",
      inputs: { create: name },
    });
    const state = ["s-runtime-scripts", "s-runtime-runtime", "s-runtime-proxy", "s-runtime-app-rollout"].map(command);
    expect(replayableCommands(state, "s", ["app"]).map((c) => c.create)).toEqual([
      "s-runtime-scripts",
      "s-runtime-runtime",
      "s-runtime-proxy",
      "s-runtime-app-rollout",
    ]);
    expect(() => replayableCommands(state.slice(1), "s", ["app"])).toThrow(/has no step s-runtime-scripts: deploy first \(pulumi up -s s\)/);
    expect(() => replayableCommands(state, "s", ["app", "api"])).toThrow(/has no step s-runtime-api-rollout/);
  });
});
