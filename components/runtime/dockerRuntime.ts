import * as pulumi from "@pulumi/pulumi";
import { StackConfig } from "../config/schema";
import { renderEdgeConfig, SWITCH_BASE_PORT } from "../proxy/nginx";
import { renderRolloutScript } from "../rollout/rollout";
import { HostRunner } from "./runner";
import { renderRuntimeScript, runtimeCommand, runtimeNames, RuntimeSpec } from "./runtime";

/** Formats environment variables as a Docker env file (one NAME=value per line). */
export function envFile(env: Readonly<Record<string, string>>): string {
  return Object.entries(env)
    .map(([name, value]) => {
      if (/[\r\n]/.test(value)) throw new Error(`environment variable ${name}: values cannot span lines (Docker env files are line-based)`);
      return `${name}=${value}\n`;
    })
    .join("");
}

export interface DockerRuntimeArgs {
  /** Environment (stack) name. */
  readonly environment: string;
  /** Where the commands run: this machine or a server over SSH. */
  readonly runner: HostRunner;
  readonly config: StackConfig;
  /** Address and ports the edge publishes. */
  readonly bindAddress: string;
  readonly httpPort: number;
  readonly httpsPort: number;
  /** Environment of each service (secret), by service name. */
  readonly serviceEnv: Readonly<Record<string, pulumi.Input<Record<string, string>>>>;
  /** Image reference to run for each service (a built image's name, or config's `image`). */
  readonly serviceImages: Readonly<Record<string, pulumi.Input<string>>>;
  /** POSTGRES_PASSWORD for a container database (secret). */
  readonly databasePassword?: pulumi.Input<string>;
  /** Refuse `pulumi destroy` of the container database's volume. Default false. */
  readonly protectData?: boolean;
  /** Resources the runtime waits for (e.g. image builds). */
  readonly dependsOn?: pulumi.Input<pulumi.Resource>[];
}

/**
 * The runtime every host shares, on a Docker engine: network, PostgreSQL container (when the
 * database is a container), the switch and edge nginx, and one rollout command per service.
 * Every step is a rendered script run by a `@pulumi/command` resource; secrets travel on stdin.
 */
export class DockerRuntime extends pulumi.ComponentResource {
  /** Per-service rollout commands. */
  public readonly rollouts: Record<string, pulumi.CustomResource> = {};
  public readonly runtime: pulumi.CustomResource;
  /** The container database's volume and backup schedule (container database only; protected per config). */
  public readonly data?: pulumi.CustomResource;
  public readonly proxy: pulumi.CustomResource;
  /** Issues the certificate and turns HTTPS on (TLS enabled only). */
  public readonly certificate?: pulumi.CustomResource;
  public readonly names: ReturnType<typeof runtimeNames>;

  constructor(name: string, args: DockerRuntimeArgs, opts?: pulumi.ComponentResourceOptions) {
    super("permacoop:index:DockerRuntime", name, {}, opts);
    const { config, environment } = args;
    this.names = runtimeNames(environment);
    const names = this.names;
    const db = config.database;
    const spec: RuntimeSpec = {
      environment,
      prefix: names.prefix,
      network: names.network,
      nginxImage: config.proxy.image,
      edgeContainer: names.edgeContainer,
      switchContainer: names.switchContainer,
      bindAddress: args.bindAddress,
      httpPort: args.httpPort,
      httpsPort: config.tls.enabled ? args.httpsPort : 0,
      certificate: config.tls.enabled
        ? {
            domains: config.dns.hostnames,
            email: config.tls.email as string,
            acmeDirectory: config.tls.acmeDirectory,
            certbotImage: config.tls.certbotImage,
            deadlineSeconds: config.tls.deadlineSeconds,
          }
        : null,
      database:
        db.kind === "container"
          ? {
              mode: "container",
              image: db.image,
              container: names.dbContainer,
              volume: names.dbVolume,
              name: db.name,
              user: db.user,
              backupHour: db.backupHour,
              backupRetentionDays: db.backupRetentionDays,
            }
          : { mode: "none" },
      services: config.services.map(({ name, port, healthPath }) => ({ name, port, healthPath })),
    };
    const script = renderRuntimeScript(spec);
    // Commands that see secrets keep their output out of the state.
    const secretOutputs = { additionalSecretOutputs: ["stdout", "stderr"] };

    const { runner } = args;
    // The database volume is its own resource so that `protect` guards the data alone: a protected
    // stack's destroy is refused before anything is touched, and containers can come and go.
    if (spec.database.mode === "container") {
      this.data = runner.run(
        `${name}-data`,
        { create: runtimeCommand(script, "data create"), update: runtimeCommand(script, "data update"), delete: runtimeCommand(script, "drop-data") },
        { parent: this, dependsOn: args.dependsOn, protect: args.protectData ?? false },
      );
    }
    this.runtime = runner.run(
      `${name}-runtime`,
      {
        create: runtimeCommand(script, "up"),
        update: runtimeCommand(script, "up"),
        delete: runtimeCommand(script, "down"),
        stdin: args.databasePassword ? pulumi.secret(pulumi.interpolate`POSTGRES_PASSWORD=${args.databasePassword}\n`) : undefined,
      },
      { parent: this, dependsOn: [...(args.dependsOn ?? []), ...(this.data ? [this.data] : [])], ...secretOutputs },
    );

    const routes = config.services.map((service, i) => ({ service: service.name, prefix: service.route, switchPort: SWITCH_BASE_PORT + i }));
    const edge = {
      hostnames: config.dns.hostnames,
      switchHost: names.switchContainer,
      routes,
      clientMaxBodySize: config.proxy.clientMaxBodySize,
      httpsPort: args.httpsPort,
    };
    // Both variants travel to the host: HTTPS becomes active once a certificate exists.
    const edgeConfigs = `${renderEdgeConfig({ ...edge, tls: false })}---\n${config.tls.enabled ? renderEdgeConfig({ ...edge, tls: true }) : ""}`;
    this.proxy = runner.run(
      `${name}-proxy`,
      { create: runtimeCommand(script, "proxy"), update: runtimeCommand(script, "proxy"), stdin: edgeConfigs },
      { parent: this, dependsOn: [this.runtime] },
    );
    if (config.tls.enabled) {
      this.certificate = runner.run(
        `${name}-certificate`,
        { create: runtimeCommand(script, "certificate"), update: runtimeCommand(script, "certificate"), stdin: config.tls.caBundle ?? "" },
        { parent: this, dependsOn: [this.proxy] },
      );
    }

    config.services.forEach((service, i) => {
      const image = args.serviceImages[service.name] ?? service.image;
      const rollout = pulumi.output(image).apply((imageRef) =>
        renderRolloutScript({
          environment,
          service: service.name,
          image: imageRef,
          port: service.port,
          healthPath: service.healthPath,
          healthIntervalSeconds: service.healthCheck.intervalSeconds,
          healthTimeoutSeconds: service.healthCheck.timeoutSeconds,
          healthDeadlineSeconds: service.healthCheck.deadlineSeconds,
          network: names.network,
          containerPrefix: names.prefix,
          switchContainer: names.switchContainer,
          switchPort: SWITCH_BASE_PORT + i,
          pullPolicy: service.build ? "never" : service.pullPolicy,
          keepImages: service.keepImages,
          drainSeconds: 30,
          stopTimeoutSeconds: 10,
        }),
      );
      const env = args.serviceEnv[service.name];
      if (env === undefined) throw new Error(`DockerRuntime: no environment for service ${service.name}`);
      this.rollouts[service.name] = runner.run(
        `${name}-${service.name}-rollout`,
        {
          create: rollout,
          update: rollout,
          delete: runtimeCommand(script, `remove-service ${service.name}`),
          stdin: pulumi.secret(pulumi.output(env).apply(envFile)),
        },
        { parent: this, dependsOn: [this.runtime], ...secretOutputs },
      );
    });

    this.registerOutputs({ network: names.network });
  }
}
