import * as pulumi from "@pulumi/pulumi";
import { Environment } from "../../../../components/environment";
import { switchPort } from "../../../../components/runtime/contract";
import { installedScript } from "../../../support/hostScripts";
import { Declared, installMocks, parse, recorder, valueOf } from "../../../support/mocks";

beforeAll(() => installMocks());

const localConfig = {
  host: { kind: "local", httpPort: 18080 },
  database: { kind: "container" },
  dns: { provider: "none", hostnames: ["localhost"] },
  tls: { enabled: false },
  services: [
    {
      name: "app",
      image: "permacoop/reference-app",
      build: { context: "app" },
      port: 3000,
      env: { APP_VERSION: "1" },
      secretEnv: { CALENDAR_TOKEN: "calendarToken" },
    },
    { name: "api", image: "ghcr.io/example/api:1", port: 4000, route: "/api/" },
  ],
};

async function build(database: Record<string, unknown> = localConfig.database) {
  const declared: Declared[] = [];
  const config = parse({ ...localConfig, database }, { calendarToken: "calendar-token-value" }, "dev");
  const env = new Environment(
    "dev",
    { name: "dev", config, secrets: { calendarToken: pulumi.secret("calendar-token-value") } },
    { transformations: [recorder(declared)] },
  );
  await valueOf(env.serviceEnv.app!);
  const commands = declared.filter((d) => d.type === "command:local:Command");
  const byName = (suffix: string) => {
    const found = commands.find((c) => c.name.endsWith(suffix));
    if (!found) throw new Error(`no command ${suffix} among ${commands.map((c) => c.name).join(", ")}`);
    return found;
  };
  /** The installed script a step's command runs. */
  const scriptOf = async (command: pulumi.Input<string>) =>
    installedScript(await valueOf(byName("runtime-scripts").props.stdin as pulumi.Input<string>), await valueOf(command));
  return { env, declared, commands, byName, scriptOf };
}

describe("local host", () => {
  it("declares the runtime, the edge configuration and one rollout per service", async () => {
    const { commands } = await build();
    expect(commands.map((c) => c.name).sort()).toEqual([
      "dev-runtime-api-rollout",
      "dev-runtime-app-rollout",
      "dev-runtime-data",
      "dev-runtime-env-id",
      "dev-runtime-proxy",
      "dev-runtime-runtime",
      "dev-runtime-scripts",
    ]);
  });

  it("creates no Scaleway resource", async () => {
    const { declared } = await build();
    expect(declared.filter((d) => d.type.startsWith("scaleway:"))).toEqual([]);
  });

  it("builds images from their context, tagged by content, never pushed", async () => {
    const { declared } = await build();
    const images = declared.filter((d) => d.type === "docker:index/remoteImage:RemoteImage");
    expect(images).toHaveLength(1);
    expect(images[0]!.props.name).toMatch(/^permacoop\/reference-app:[0-9a-f]{12}$/);
    expect(images[0]!.props.build).toMatchObject({ context: "app", dockerfile: "Dockerfile" });
    expect(images[0]!.props.keepLocally).toBe(true);
  });

  it("feeds each service its environment on stdin, as a secret, never in the command line", async () => {
    const { byName } = await build();
    const rollout = byName("app-rollout");
    expect(await pulumi.isSecret(pulumi.output(rollout.props.stdin as pulumi.Input<string>))).toBe(true);
    const stdin = await valueOf(rollout.props.stdin as pulumi.Input<string>);
    expect(stdin).toMatch(/^CALENDAR_TOKEN=calendar-token-value$/m);
    expect(stdin).toMatch(/^DATABASE_HOST=pc-dev-[0-9a-f]{8}-db$/m); // the environment's id on its host
    expect(stdin).toMatch(/^DATABASE_PASSWORD=pw-dev-db-password$/m);
    const create = await valueOf(rollout.props.create as pulumi.Input<string>);
    expect(create).not.toContain("calendar-token-value");
    expect(create).not.toContain("pw-dev-db-password");
    expect(rollout.opts).toMatchObject({ additionalSecretOutputs: ["stdout", "stderr"] });
  });

  it("rolls out the built image for built services and the configured one otherwise", async () => {
    const { byName, scriptOf } = await build();
    expect(await scriptOf(byName("app-rollout").props.create as pulumi.Input<string>)).toMatch(/^IMAGE='permacoop\/reference-app:[0-9a-f]{12}'$/m);
    expect(await scriptOf(byName("api-rollout").props.create as pulumi.Input<string>)).toMatch(/^IMAGE='ghcr.io\/example\/api:1'$/m);
  });

  it("runs the same script for create and update, and removes the service on delete", async () => {
    const { byName } = await build();
    const rollout = byName("api-rollout");
    expect(await valueOf(rollout.props.update as pulumi.Input<string>)).toBe(await valueOf(rollout.props.create as pulumi.Input<string>));
    expect(await valueOf(rollout.props.delete as pulumi.Input<string>)).toMatch(/^export PERMACOOP_OWNER='[0-9a-f]+'; .*'remove-service' 'api'$/);
    expect(await valueOf(byName("runtime-runtime").props.delete as pulumi.Input<string>)).toMatch(/'down'$/);
  });

  it("routes / and /api/ through the edge to the switch ports", async () => {
    const { byName } = await build();
    const edge = await valueOf(byName("proxy").props.stdin as pulumi.Input<string>);
    expect(edge).toContain("location /api/ {");
    expect(edge).toMatch(new RegExp(`server pc-dev-[0-9a-f]{8}-switch-haproxy:${switchPort("api")};`));
    expect(edge).toMatch(new RegExp(`server pc-dev-[0-9a-f]{8}-switch-haproxy:${switchPort("app")};`));
  });

  it("hands PostgreSQL its password on stdin, as a secret", async () => {
    const { byName } = await build();
    const stdin = byName("runtime-runtime").props.stdin as pulumi.Input<string>;
    expect(await pulumi.isSecret(pulumi.output(stdin))).toBe(true);
    expect(await valueOf(stdin)).toBe("POSTGRES_PASSWORD=pw-dev-db-password\n");
  });

  it("gives the database volume its own resource, created before the runtime, protected only when asked", async () => {
    const { byName } = await build();
    const data = byName("runtime-data");
    expect(await valueOf(data.props.create as pulumi.Input<string>)).toMatch(/'data' 'create'$/);
    expect(await valueOf(data.props.update as pulumi.Input<string>)).toMatch(/'data' 'update'$/);
    expect(await valueOf(data.props.delete as pulumi.Input<string>)).toMatch(/'drop-data'$/);
    expect(data.opts.protect).toBe(false);
    const runtimeDeps = (byName("runtime-runtime").opts.dependsOn ?? []) as pulumi.Resource[];
    const urns = await Promise.all(runtimeDeps.map((r) => valueOf((r as pulumi.CustomResource).urn)));
    expect(urns.some((urn) => urn.endsWith("::dev-runtime-data"))).toBe(true);
    const protectedData = (await build({ kind: "container", protect: true })).byName("runtime-data");
    expect(protectedData.opts.protect).toBe(true);
  });

  it("schedules the daily backup at the configured hour with the configured retention", async () => {
    const { byName, scriptOf } = await build({ kind: "container", backupHour: 4, backupRetentionDays: 14 });
    const script = await scriptOf(byName("runtime-data").props.create as string);
    expect(script).toMatch(/^BACKUP_HOUR='4'$/m);
    expect(script).toMatch(/^BACKUP_RETENTION_DAYS='14'$/m);
  });

  it("runs every step as a short command of an installed script, after the scripts step", async () => {
    const { commands, scriptOf } = await build();
    for (const step of commands.filter((c) => !c.name.endsWith("-scripts") && !c.name.endsWith("-env-id"))) {
      for (const key of ["create", "update", "delete"] as const) {
        const command = step.props[key] as pulumi.Input<string> | undefined;
        if (command !== undefined) expect((await valueOf(command)).length).toBeLessThan(600);
      }
      expect(await scriptOf(step.props.create as pulumi.Input<string>)).toMatch(/^#!\/usr\/bin\/env bash\n# (Host runtime|Rollout) of dev/);
      const dependsOn = (step.opts.dependsOn ?? []) as pulumi.Resource[];
      const upstream = await Promise.all(dependsOn.map((r) => valueOf((r as pulumi.CustomResource).urn)));
      // Directly, or through the runtime step that depends on it.
      expect([step.name, upstream.some((urn) => urn.endsWith("::dev-runtime-scripts") || urn.endsWith("::dev-runtime-runtime"))]).toEqual([step.name, true]);
    }
  });

  it("publishes its URL on the bind address and port", async () => {
    const { env } = await build();
    expect(env.url).toBe("http://127.0.0.1:18080");
  });
});
