import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { containerAccessories, pushesBuilds } from "./config/rules";
import { hasHostKind, isDataProtected, StackConfig } from "./config/schema";
import { DnsRecordSpec } from "./dns/records";
import { EnvironmentHost, HostArgs, Machine, recordsToCreate } from "./host/host";
import { LocalHost } from "./host/local";
import { LocalVmHost, localVmAddress } from "./host/localVm";
import { ScalewayContainerHost } from "./host/scalewayContainers";
import { ScalewayVmHost } from "./host/scalewayVm";
import { SshHost } from "./host/ssh";
import { ContainerAccessories } from "./accessories/containerAccessories";
import { hostContract, rolloutWaves, runtimeComponentName } from "./runtime/contract";
import { machineEnvId } from "./runtime/envId";
import { DockerRuntime } from "./runtime/dockerRuntime";
import { PromotedImages, pushBuiltImages, stackRegistryLogins } from "./registry/images";
import { buildImages } from "./runtime/images";
import { Publish } from "./runtime/runtime";
import { serviceEnvironment } from "./serviceEnv";

export interface EnvironmentArgs {
  /** Environment name (the stack name). */
  readonly name: string;
  /** The validated stack configuration. */
  readonly config: StackConfig;
  /** Secret config values by key name (as referenced by `services[].secretEnv`). */
  readonly secrets: Readonly<Record<string, pulumi.Input<string>>>;
  /** Each pulled service's image by digest (`resolveServiceImages`); the others run `image` as written. Default none. */
  readonly resolvedImages?: Readonly<Record<string, string>>;
}

/** The host kind the configuration names, declared into `parent`. */
function declareHost(name: string, args: HostArgs): EnvironmentHost {
  const { config } = args;
  if (hasHostKind(config, "local")) return new LocalHost(name, { ...args, config });
  if (hasHostKind(config, "ssh")) return new SshHost(name, { ...args, config });
  if (hasHostKind(config, "scaleway-vm")) return new ScalewayVmHost(name, { ...args, config });
  if (hasHostKind(config, "local-vm")) return new LocalVmHost(name, { ...args, config });
  return new ScalewayContainerHost(name, { ...args, config });
}

/**
 * One Permacoop environment: the host (its kind's machines, database and DNS) and the same Docker
 * runtime on each of its machines, with every service rolled out there. On `scaleway-container`
 * the platform runs the containers: there is no machine of ours.
 */
export class Environment extends pulumi.ComponentResource {
  /** The host kind's declarations: machines, database, DNS, stack outputs. */
  public readonly host: EnvironmentHost;
  /** The runtime on each machine of the host. */
  public readonly runtimes: readonly DockerRuntime[];
  /** Canonical URL. */
  public readonly url: string;
  /** Environment variables per service name (secret). */
  public readonly serviceEnv: Record<string, pulumi.Output<Record<string, string>>>;
  /** Whether the data refuses `pulumi destroy`. */
  public readonly dataProtected: boolean;
  /** The stack's id on its hosts (`~/.permacoop/<env>/owner`): another stack of the same name is refused there. */
  public readonly owner?: random.RandomId;
  /** The environment's id on each machine, what its names there derive from (`pc-<id>-…`, `~/.permacoop/<id>`). */
  public readonly envIds: readonly pulumi.Output<string>[];
  /** Refuses `pulumi destroy` up front when the data is protected (see below). */
  public readonly destroyGuard: random.RandomId;
  /** The image each service runs on the Docker hosts: by digest when pulled, by context hash when built. */
  public readonly images: pulumi.Output<Record<string, string>>;

  constructor(name: string, args: EnvironmentArgs, opts?: pulumi.ComponentResourceOptions) {
    super("permacoop:index:Environment", name, {}, opts);
    const { config } = args;
    this.dataProtected = isDataProtected(config.database, args.name);
    // The environment's names on its machine derive from an id probed there (machineEnvId),
    // which needs the machine: the host kind's database gets it once the machine is declared.
    const [envId, resolveEnvId] = pulumi.deferredOutput<string>();
    const host = declareHost(name, {
      environment: args.name,
      envId,
      config,
      secrets: args.secrets,
      protectData: this.dataProtected,
      parent: this,
      resolvedImages: args.resolvedImages,
    });
    this.host = host;
    // The accessories run beside the services on each machine (reached by container name).
    const inContainers = containerAccessories(config);
    const accessories =
      inContainers.length > 0
        ? new ContainerAccessories(
            `${name}-accessories`,
            { accessories: inContainers, contract: envId.apply((id) => hostContract(args.name, id)) },
            { parent: this },
          )
        : undefined;
    // The platform's (Scaleway hosts) and ours, one set of variables.
    const accessoryEnv = pulumi
      .all([host.accessoryEnv ?? {}, accessories?.serviceEnv ?? {}])
      .apply(([managed, contained]) => ({ ...managed, ...contained }) as Record<string, string>);
    this.serviceEnv = Object.fromEntries(
      config.services.map((service) => [service.name, serviceEnvironment(service, args.secrets, host.database.env, accessoryEnv)]),
    );

    // This machine's engine runs what it builds; a server elsewhere pulls it from the build registry.
    const built =
      host.builtImages ??
      (host.machines.length === 0
        ? { refs: {}, resources: [] }
        : pushesBuilds(config.host.kind)
          ? pushBuiltImages(name, config, args.secrets, this)
          : buildImages(name, config, this));
    // On scaleway-container the host ships promoted images itself (and has no machine of ours).
    const promoted = host.machines.length > 0 ? new PromotedImages(name, this) : undefined;
    const serviceImages: Record<string, pulumi.Input<string>> = Object.fromEntries(
      config.services.map((service, i) => [
        service.name,
        service.fromStack && promoted
          ? promoted.image(service.fromStack, service.name, `permacoop:services[${i}].fromStack`)
          : (built.refs[service.name] ?? args.resolvedImages?.[service.name] ?? service.image),
      ]),
    );
    this.images = pulumi.output(serviceImages) as pulumi.Output<Record<string, string>>;
    // This stack's id on its hosts: kept in the state, so every clone or project has its own.
    const owner = host.machines.length > 0 ? new random.RandomId(`${name}-owner`, { byteLength: 8 }, { parent: this }) : undefined;
    this.owner = owner;
    const count = host.machines.length;
    // From one server to several and back, the first keeps its steps: renamed (aliases), never
    // deleted there and made anew (a delete would take the environment down on that server).
    const formerNames = (index: number, current: string, key: string | undefined): string[] =>
      index !== 0
        ? []
        : [runtimeComponentName(name), ...(key === undefined ? [] : [runtimeComponentName(name, { index, count: 2, key })])].filter((n) => n !== current);
    const envIds = host.machines.map((machine, index) => {
      const runtimeName = runtimeComponentName(name, { index, count, key: machine.key });
      return machineEnvId(
        runtimeName,
        {
          environment: args.name,
          owner: owner!.hex,
          runner: machine.runner,
          machineId: machine.identity,
          dependsOn: [...machine.ready],
          formerNames: formerNames(index, runtimeName, machine.key),
        },
        this,
      );
    });
    resolveEnvId(envIds[0] ?? pulumi.output(args.name));
    this.envIds = envIds;
    const declareRuntime = (i: number, after: readonly DockerRuntime[]): DockerRuntime => {
      const machine = host.machines[i]!;
      const componentName = runtimeComponentName(name, { index: i, count, key: machine.key });
      const former = formerNames(i, componentName, machine.key);
      return new DockerRuntime(
        componentName,
        {
          environment: args.name,
          envId: envIds[i]!,
          runner: machine.runner,
          // A load balancer in front holds the certificate: the edges behind it request none.
          config: host.terminatesTls ? { ...config, tls: { ...config.tls, enabled: false } } : config,
          // Behind it, every request the services see came in over HTTPS (80 redirects there).
          clientScheme: host.terminatesTls && config.tls.enabled ? "https" : undefined,
          ...host.publish,
          serviceEnv: this.serviceEnv,
          serviceImages,
          databasePassword: host.database.containerPassword,
          accessoryEnv: accessories?.containerEnv,
          protectData: this.dataProtected,
          dependsOn: [...machine.ready, ...built.resources, ...(machine.prepare?.(Object.values(serviceImages)) ?? []), ...after],
          machineId: machine.identity,
          registryLogins: [...stackRegistryLogins(config, args.secrets), ...(machine.registryLogins ?? [])],
          owner: owner?.hex,
          hostLabel: count > 1 ? machine.label : undefined,
          primary: i === 0,
          acmePeers: config.tls.enabled && !host.terminatesTls ? acmePeers(host.machines, i, host.publish.httpPort) : undefined,
        },
        { parent: this, ...(former.length > 0 ? { aliases: former.map((alias) => ({ name: alias })) } : {}) },
      );
    };
    // Several hosts roll out in waves (the first alone, then rollout.parallel at a time): a wave
    // starts once every step of the previous one succeeded, so a failing host stops the rollout
    // and the hosts after it keep their version.
    const runtimes: DockerRuntime[] = [];
    let previousWave: DockerRuntime[] = [];
    for (const wave of rolloutWaves(count, config.rollout.parallel)) {
      previousWave = wave.map((i) => declareRuntime(i, previousWave));
      runtimes.push(...previousWave);
    }
    this.runtimes = runtimes;
    this.destroyGuard = destroyGuard(name, args.name, this.dataProtected, [...this.runtimes, ...host.resources], this);
    this.url = environmentUrl(config, host.publish);
    this.registerOutputs({ url: this.url });
  }

  /** Records an operator must create when DNS is managed elsewhere (empty when managed here). */
  get recordsToCreate(): pulumi.Output<DnsRecordSpec[]> {
    return recordsToCreate(this.host.dns);
  }
}

/**
 * `protect` on the data alone refuses its deletion only once its dependents are gone: a refused
 * destroy would leave the environment half-removed. This guard depends on everything and shares
 * the data's protection, so a refused destroy fails at its very first step, touching nothing.
 * Always declared (protect follows config): removing a protected resource from the program fails.
 */
function destroyGuard(name: string, environment: string, protect: boolean, everything: readonly pulumi.Resource[], parent: pulumi.Resource): random.RandomId {
  return new random.RandomId(`${name}-destroy-guard`, { byteLength: 4, keepers: { environment } }, { parent, protect, dependsOn: [...everything] });
}

/** The edges of the machines other than `i` (`address:port`): where its ACME challenges are asked when it does not hold them. */
export function acmePeers(machines: readonly Machine[], i: number, httpPort: number): string[] {
  return machines
    .filter((machine, j) => j !== i && machine.address !== undefined)
    .map((machine) => `${machine.address!.includes(":") ? `[${machine.address}]` : machine.address}:${httpPort}`);
}

/** The canonical URL: the first hostname, with the published port when it is not the default. */
export function environmentUrl(config: StackConfig, publish: Publish): string {
  const tls = config.tls.enabled;
  const port = tls ? publish.httpsPort : publish.httpPort;
  const defaultPort = tls ? 443 : 80;
  const local = config.dns.hostnames[0] === "localhost";
  const hostname =
    local && config.host.kind === "local"
      ? config.host.bindAddress.replace(/^0\.0\.0\.0$/, "127.0.0.1")
      : local && config.host.kind === "local-vm"
        ? localVmAddress(config.host.slot)
        : config.dns.hostnames[0];
  return `${tls ? "https" : "http"}://${hostname}${port === defaultPort ? "" : `:${port}`}`;
}
