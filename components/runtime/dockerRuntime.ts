import * as pulumi from "@pulumi/pulumi";
import { containerAccessories } from "../config/rules";
import { registryLoginHost, StackConfig } from "../config/schema";
import { renderEdgeConfig } from "../proxy/nginx";
import { renderRolloutScript, rolloutSpec } from "../rollout/rollout";
import { HostContract, hostContract, stepNames, switchPort } from "./contract";
import { asStack, onMachineAs } from "./envId";
import { HostRunner } from "./runner";
import { accessoryLine, Publish, renderRuntimeScript, runtimeSpec } from "./runtime";
import { shellQuote } from "./shell";
import { hostScript, installBundle, installCommand, runCurrentRuntimeCommand, runScriptCommand, uninstallCommand } from "./scripts";
import type { RegistryLogin } from "../registry/images";

/** Formats environment variables as a Docker env file (one NAME=value per line). */
export function envFile(env: Readonly<Record<string, string>>): string {
  return Object.entries(env)
    .map(([name, value]) => {
      if (/[\r\n]/.test(value)) throw new Error(`environment variable ${name}: values cannot span lines (Docker env files are line-based)`);
      return `${name}=${value}\n`;
    })
    .join("");
}

export interface DockerRuntimeArgs extends Publish {
  /** Environment (stack) name. */
  readonly environment: string;
  /** What the environment's names on this machine derive from (the contract's `id`: `machineEnvId`). */
  readonly envId: pulumi.Input<string>;
  /** Where the commands run: this machine or a server over SSH. */
  readonly runner: HostRunner;
  readonly config: StackConfig;
  /** The scheme clients use when a load balancer in front ends TLS (`https`): what the edge tells the services. Default the edge's own. */
  readonly clientScheme?: "http" | "https";
  /** Environment of each service (secret), by service name. */
  readonly serviceEnv: Readonly<Record<string, pulumi.Input<Record<string, string>>>>;
  /** Image reference to run for each service (a built image's name, or config's `image`). */
  readonly serviceImages: Readonly<Record<string, pulumi.Input<string>>>;
  /** POSTGRES_PASSWORD for a container database (secret). */
  readonly databasePassword?: pulumi.Input<string>;
  /** The env file each accessory's container starts with, by accessory name (secret). Default none. */
  readonly accessoryEnv?: Readonly<Record<string, pulumi.Input<string>>>;
  /** Refuse `pulumi destroy` of the container database's volume. Default false. */
  readonly protectData?: boolean;
  /** Resources the runtime waits for (e.g. image builds). */
  readonly dependsOn?: pulumi.Input<pulumi.Resource>[];
  /** The machine's identity when it can be replaced under the same address (a VM's server id). */
  readonly machineId?: pulumi.Input<string>;
  /** The registries the host's Docker logs in to: the stack's `registries`, and the machine's own (a Scaleway VM's read-only key). Default none. */
  readonly registryLogins?: readonly RegistryLogin[];
  /** The id of the stack (kept in its state): the host's steps refuse another stack of the same name. Default none (no check). */
  readonly owner?: pulumi.Input<string>;
  /** Which of several hosts this is (its address): rollouts name it in their log and failure. Default none (the one host). */
  readonly hostLabel?: string;
  /** Whether this host runs what must run once per environment: each version's release, the scheduled jobs. Default true (the first host). */
  readonly primary?: boolean;
  /** The other hosts' edges (`address:port`) behind the same load balancer: ACME challenges are asked of them (nginx.ts). Default none. */
  readonly acmePeers?: readonly string[];
}

/**
 * The runtime every host shares, on a Docker engine: network, PostgreSQL container (when the
 * database is a container), the switch and edge nginx, and one rollout command per service.
 * Each step runs a host script the `scripts` step installed (by content hash) with a short
 * command; secrets travel on stdin. Names and paths on the host come from the host contract.
 */
export class DockerRuntime extends pulumi.ComponentResource {
  /** Per-service rollout commands. */
  public readonly rollouts: Record<string, pulumi.CustomResource> = {};
  /** Installs the host scripts every other step runs. */
  public readonly scripts: pulumi.CustomResource;
  public readonly runtime: pulumi.CustomResource;
  /** The container database's volume and backup schedule (container database only; protected per config). */
  public readonly data?: pulumi.CustomResource;
  public readonly proxy: pulumi.CustomResource;
  /** Issues the certificate and turns HTTPS on (TLS enabled only). */
  public readonly certificate?: pulumi.CustomResource;
  /** The host's login to each private registry, by address. */
  public readonly registryLogins: Record<string, pulumi.CustomResource> = {};
  /** Each accessory's volume and container, by name (protected with the data). */
  public readonly accessories: Record<string, pulumi.CustomResource> = {};
  /** Names and paths of the environment on this machine. */
  public readonly contract: pulumi.Output<HostContract>;

  constructor(name: string, args: DockerRuntimeArgs, opts?: pulumi.ComponentResourceOptions) {
    super("permacoop:index:DockerRuntime", name, {}, opts);
    const { config, environment, runner } = args;
    const contract = pulumi.output(args.envId).apply((id) => hostContract(environment, id));
    this.contract = contract;
    const steps = stepNames(name);
    // The jobs run on one host only (each would run once per host otherwise).
    const primary = args.primary ?? true;
    const runtimeScript = contract.apply((c) => hostScript("runtime", renderRuntimeScript(runtimeSpec(primary ? config : { ...config, jobs: [] }, c, args))));
    const asOwner = (command: pulumi.Input<string>) => asStack(args.owner, command);
    const onMachine = (command: pulumi.Input<string>) => onMachineAs(args.machineId, args.owner, command);

    const rolloutScripts = config.services.map((service) => {
      const image = args.serviceImages[service.name] ?? service.image;
      return pulumi.all([contract, image]).apply(([c, imageRef]) =>
        hostScript(
          `rollout-${service.name}`,
          renderRolloutScript(
            // The release runs once per version, on the first host: the others roll out after it.
            rolloutSpec(primary ? service : { ...service, release: undefined }, c, imageRef, switchPort(service.name), config.database.kind, args.hostLabel),
          ),
        ),
      );
    });
    const allScripts = pulumi.all([runtimeScript, ...rolloutScripts]);
    this.scripts = runner.run(
      steps.scripts,
      {
        create: onMachine(pulumi.all([contract, allScripts]).apply(([c, s]) => installCommand(c, s))),
        delete: asOwner(contract.apply(uninstallCommand)),
        stdin: allScripts.apply(installBundle),
      },
      { parent: this, dependsOn: args.dependsOn },
    );
    const run = (...action: string[]) => onMachine(pulumi.all([contract, runtimeScript]).apply(([c, script]) => runScriptCommand(c, script, ...action)));
    const runCurrent = (...action: string[]) => asOwner(contract.apply((c) => runCurrentRuntimeCommand(c, ...action)));
    // Commands that see secrets keep their output out of the state.
    const secretOutputs = { additionalSecretOutputs: ["stdout", "stderr"] };

    // The database volume is its own resource so that `protect` guards the data alone: a protected
    // stack's destroy is refused before anything is touched, and containers can come and go.
    if (config.database.kind === "container") {
      this.data = runner.run(
        steps.data,
        { create: run("data", "create"), update: run("data", "update"), delete: runCurrent("drop-data") },
        { parent: this, dependsOn: [this.scripts], protect: args.protectData ?? false },
      );
    }
    this.runtime = runner.run(
      steps.runtime,
      {
        create: run("up"),
        update: run("up"),
        delete: runCurrent("down"),
        stdin: args.databasePassword ? pulumi.secret(pulumi.interpolate`POSTGRES_PASSWORD=${args.databasePassword}\n`) : undefined,
      },
      { parent: this, dependsOn: [...(args.dependsOn ?? []), this.scripts, ...(this.data ? [this.data] : [])], ...secretOutputs },
    );

    // The host's Docker logs in to each private registry before a rollout pulls: the password on
    // stdin (secret), never argv; `docker logout` when the registry leaves the config.
    for (const login of args.registryLogins ?? []) {
      const host = shellQuote(registryLoginHost(login.address));
      this.registryLogins[login.address] = runner.run(
        steps.registryLogin(login.address),
        {
          create: onMachine(`docker login ${host} --username ${shellQuote(login.username)} --password-stdin >/dev/null`),
          delete: `docker logout ${host} >/dev/null 2>&1 || true`,
          stdin: pulumi.secret(login.password),
        },
        { parent: this, dependsOn: [this.scripts], ...secretOutputs },
      );
    }

    // An accessory is its own step, protected like the data: its volume outlives the containers.
    // Its command runs the runtime the runtime step made current, naming the accessory's settings:
    // it changes, and the preview shows the step updated (a restart), when they change, not when
    // another part of the environment does.
    for (const accessory of containerAccessories(config)) {
      const accessoryCommand = onMachine(contract.apply((c) => runCurrentRuntimeCommand(c, "accessory", accessory.name, JSON.stringify(accessory))));
      const env = args.accessoryEnv?.[accessory.name];
      if (env === undefined) throw new Error(`DockerRuntime: no environment for accessory ${accessory.name}`);
      this.accessories[accessory.name] = runner.run(
        steps.accessory(accessory.name),
        {
          create: accessoryCommand,
          update: accessoryCommand,
          // Its settings travel with the delete: an accessory no longer declared still gets its final backup.
          delete: runCurrent("drop-accessory", accessory.name, accessoryLine(accessory)),
          stdin: pulumi.secret(env),
        },
        // After the registry logins: a private accessory image is pulled with them.
        { parent: this, dependsOn: [this.runtime, ...Object.values(this.registryLogins)], protect: args.protectData ?? false, ...secretOutputs },
      );
    }

    config.services.forEach((service, i) => {
      const env = args.serviceEnv[service.name];
      if (env === undefined) throw new Error(`DockerRuntime: no environment for service ${service.name}`);
      const rollout = onMachine(pulumi.all([contract, rolloutScripts[i]!]).apply(([c, script]) => runScriptCommand(c, script)));
      this.rollouts[service.name] = runner.run(
        steps.rollout(service.name),
        {
          create: rollout,
          update: rollout,
          delete: runCurrent("remove-service", service.name),
          stdin: pulumi.secret(pulumi.output(env).apply(envFile)),
        },
        { parent: this, dependsOn: [this.runtime, ...Object.values(this.registryLogins), ...Object.values(this.accessories)], ...secretOutputs },
      );
    });

    // The edge follows the rollouts: a route changes only once its service's switch port answers.
    const routes = config.services.map((service) => ({
      service: service.name,
      prefix: service.route,
      switchPort: switchPort(service.name),
      stripPrefix: service.stripPrefix,
      readTimeoutSeconds: service.readTimeoutSeconds,
      clientMaxBodySize: service.clientMaxBodySize,
      healthPath: service.healthPath,
    }));
    // Both variants travel to the host: HTTPS becomes active once a certificate exists.
    const edgeConfigs = contract.apply((c) => {
      const edge = {
        hostnames: config.dns.hostnames,
        switchHost: c.switchContainer,
        routes,
        clientMaxBodySize: config.proxy.clientMaxBodySize,
        httpsPort: args.httpsPort,
        ...(args.acmePeers?.length ? { acmePeers: args.acmePeers } : {}),
        clientScheme: args.clientScheme,
      };
      return `${renderEdgeConfig({ ...edge, tls: false })}---\n${config.tls.enabled ? renderEdgeConfig({ ...edge, tls: true }) : ""}`;
    });
    this.proxy = runner.run(
      steps.proxy,
      { create: run("proxy"), update: run("proxy"), stdin: edgeConfigs },
      { parent: this, dependsOn: [this.runtime, ...Object.values(this.rollouts)] },
    );
    if (config.tls.enabled) {
      this.certificate = runner.run(
        steps.certificate,
        { create: run("certificate"), update: run("certificate"), stdin: config.tls.caBundle ?? "" },
        { parent: this, dependsOn: [this.proxy] },
      );
    }

    this.registerOutputs({ network: contract.network });
  }
}
