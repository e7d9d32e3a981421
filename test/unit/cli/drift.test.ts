import { parseDriftArgs, replayableCommands } from "../../../cli/drift";

describe("npm run drift", () => {
  it("reads -s <stack> and --repair", () => {
    expect(parseDriftArgs(["-s", "prod"])).toEqual({ stack: "prod", repair: false });
    expect(parseDriftArgs(["--repair", "-s", "prod"])).toEqual({ stack: "prod", repair: true });
    expect(() => parseDriftArgs(["prod"])).toThrow(/usage: npm run drift -- -s <stack> \[--repair\]/);
  });

  it("replays the scripts, the data, the runtime, the proxy, the certificate, then the rollouts, with their recorded stdin; nothing else", () => {
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
      ["data", undefined],
      ["up", "POSTGRES_PASSWORD=x\n"],
      ["proxy", "edge"],
      ["certificate", undefined],
      ["rollout app", "APP_ENV=1\n"],
    ]);
  });

  it("finds the steps by the host contract's names: a required step missing from the state fails, never skipped; data and certificate exist with some configurations only", () => {
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

  it("with several hosts, replays the chosen host's steps only", () => {
    const command = (name: string) => ({
      urn: `urn:pulumi:s::permacoop::command:remote:Command::${name}`,
      type: "command:remote:Command",
      inputs: { create: name },
    });
    const steps = ["scripts", "runtime", "proxy", "app-rollout"];
    // VMs by count: the first keeps the one machine's names, the others by position.
    const state = ["s-runtime", "s-host2-runtime", "s-host3-runtime"].flatMap((runtime) => steps.map((step) => command(`${runtime}-${step}`)));
    expect(replayableCommands(state, "s", ["app"], [], [], { index: 1, count: 3 }).map((c) => c.create)).toEqual(
      steps.map((step) => `s-host2-runtime-${step}`),
    );
    expect(replayableCommands(state, "s", ["app"], [], [], { index: 0, count: 3 }).map((c) => c.create)).toEqual(steps.map((step) => `s-runtime-${step}`));
    // Listed servers by their address.
    const listed = ["10-0-0-11", "10-0-0-12"].flatMap((key) => steps.map((step) => command(`s-host-${key}-runtime-${step}`)));
    expect(replayableCommands(listed, "s", ["app"], [], [], { index: 1, count: 2, key: "10-0-0-12" }).map((c) => c.create)).toEqual(
      steps.map((step) => `s-host-10-0-0-12-runtime-${step}`),
    );
    expect(() => replayableCommands(listed, "s", ["app"], [], [], { index: 0, count: 1 })).toThrow(/has no step s-runtime-scripts/);
  });
});
