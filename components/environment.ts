import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { isDataProtected, PROGRAM_SECRETS, ScalewayContainerHostConfig, StackConfig } from "./config/schema";
import { ContainerDatabase } from "./database/container";
import { DatabaseEnv, ManagedDatabase } from "./database/managed";
import { DnsRecords, DnsRecordSpec } from "./dns/records";
import { ScalewayContainersHost } from "./host/scalewayContainers";
import { ScalewayVmHost } from "./host/scalewayVm";
import { PrivateNetwork } from "./network/privateNetwork";
import { buildImages } from "./runtime/images";
import { DockerRuntime } from "./runtime/dockerRuntime";
import { HostRunner, LocalRunner, sshConnection, SshRunner } from "./runtime/runner";
import { hostContract, runtimeComponentName } from "./runtime/contract";

export interface EnvironmentArgs {
  /** Environment name (the stack name). */
  readonly name: string;
  /** The validated stack configuration. */
  readonly config: StackConfig;
  /** Secret config values by key name (as referenced by `services[].secretEnv`). */
  readonly secrets: Readonly<Record<string, pulumi.Input<string>>>;
}

/** Environment variables of one service: its plain `env`, its secrets and DATABASE_*. */
export function serviceEnvironment(
  service: StackConfig["services"][number],
  secrets: Readonly<Record<string, pulumi.Input<string>>>,
  database: pulumi.Input<DatabaseEnv>,
): pulumi.Output<Record<string, string>> {
  const secretValues = Object.entries(service.secretEnv).map(([envName, key]) => {
    const value = secrets[key];
    if (value === undefined) throw new Error(`services.${service.name}.secretEnv.${envName}: secret permacoop:${key} is not set`);
    return value;
  });
  const secretNames = Object.keys(service.secretEnv);
  const databaseEnv = pulumi.output(database) as pulumi.Output<DatabaseEnv>;
  return pulumi.secret(
    pulumi.all([databaseEnv, pulumi.all(secretValues)]).apply(([db, values]): Record<string, string> => ({
      ...service.env,
      ...Object.fromEntries(secretNames.map((envName, i) => [envName, values[i] as string])),
      ...db,
    })),
  );
}

/**
 * One Permacoop environment: the host, its database, its DNS records, and the services
 * rolled out on it. Which components it composes follows `host.kind`; every host runs the
 * same Docker runtime, locally or over SSH, except serverless containers (the platform runs them).
 */
export class Environment extends pulumi.ComponentResource {
  /** The Scaleway VM (host kind `scaleway-vm`). */
  public readonly vm?: ScalewayVmHost;
  /** Managed PostgreSQL (database kind `scaleway-managed`). */
  public readonly managedDatabase?: ManagedDatabase;
  /** DNS records (public hosts). */
  public readonly dns?: DnsRecords;
  /** The containers on the host (every host kind but `scaleway-container`). */
  public readonly runtime?: DockerRuntime;
  /** Serverless Containers (host kind `scaleway-container`). */
  public readonly containers?: ScalewayContainersHost;
  /** Image each service runs, by digest when built, shipped or pinned (host kind `scaleway-container`). */
  public readonly images?: pulumi.Output<Record<string, string>>;
  /** Canonical URL. */
  public readonly url: string;
  /** Environment variables per service name (secret). */
  public readonly serviceEnv: Record<string, pulumi.Output<Record<string, string>>>;
  /** Whether the data refuses `pulumi destroy`. */
  public readonly dataProtected: boolean;
  /** Refuses `pulumi destroy` up front when the data is protected (see below). */
  public readonly destroyGuard: random.RandomId;

  constructor(name: string, args: EnvironmentArgs, opts?: pulumi.ComponentResourceOptions) {
    super("permacoop:index:Environment", name, {}, opts);
    const { config } = args;
    const { host, database } = config;
    const names = hostContract(args.name);
    this.dataProtected = isDataProtected(database, args.name);

    if (host.kind === "scaleway-container") {
      const serverless = serverlessEnvironment(name, args, host, this.dataProtected, this);
      this.managedDatabase = serverless.database;
      this.containers = serverless.containers;
      this.images = serverless.containers.images;
      this.serviceEnv = serverless.serviceEnv;
      this.destroyGuard = destroyGuard(name, args.name, this.dataProtected, [this.containers, this.managedDatabase], this);
      this.url = environmentUrl(config, { httpPort: 80, httpsPort: 443 });
      this.registerOutputs({ url: this.url, images: this.images });
      return;
    }

    let databaseEnv: pulumi.Output<DatabaseEnv>;
    let databasePassword: pulumi.Output<string> | undefined;
    let runner: HostRunner;
    let publish: { bindAddress: string; httpPort: number; httpsPort: number };
    let ready: pulumi.Resource[] = [];

    if (host.kind === "scaleway-vm") {
      this.vm = new ScalewayVmHost(`${name}-host`, { host, environment: args.name }, { parent: this });
      if (database.kind === "scaleway-managed") {
        this.managedDatabase = new ManagedDatabase(
          `${name}-db`,
          { database, environment: args.name, allowedIpv4: this.vm.ipv4, protect: this.dataProtected },
          { parent: this },
        );
        databaseEnv = this.managedDatabase.env;
      } else {
        // An ephemeral database on the VM (review environments): the loader refuses it for protected data.
        const db = new ContainerDatabase(`${name}-db`, { database, host: names.dbContainer }, { parent: this });
        databaseEnv = db.env;
        databasePassword = db.password;
      }
      this.dns = new DnsRecords(`${name}-dns`, { dns: config.dns, ipv4: this.vm.ipv4, ipv6: this.vm.ipv6 }, { parent: this });
      runner = new SshRunner(this.vm.connection);
      ready = [this.vm.ready];
      publish = { bindAddress: "0.0.0.0", httpPort: 80, httpsPort: 443 };
    } else {
      if (database.kind !== "container") throw new Error("unreachable: the schema pairs local and ssh hosts with a container database");
      const db = new ContainerDatabase(`${name}-db`, { database, host: names.dbContainer }, { parent: this });
      databaseEnv = db.env;
      databasePassword = db.password;
      if (host.kind === "ssh") {
        const privateKey = args.secrets[PROGRAM_SECRETS.sshPrivateKey];
        if (privateKey === undefined) throw new Error("unreachable: the config loader requires sshPrivateKey for an ssh host");
        runner = new SshRunner(sshConnection({ host: host.address, port: host.port, user: host.user, privateKey, hostKey: host.hostKey }));
        if (config.dns.provider !== "none") {
          if (!/^\d+\.\d+\.\d+\.\d+$/.test(host.address)) throw new Error(`dns: records need host.address to be an IPv4 address, not ${host.address}`);
          this.dns = new DnsRecords(`${name}-dns`, { dns: config.dns, ipv4: host.address }, { parent: this });
        }
      } else {
        runner = new LocalRunner();
      }
      publish = host;
    }

    this.serviceEnv = Object.fromEntries(config.services.map((service) => [service.name, serviceEnvironment(service, args.secrets, databaseEnv)]));
    const images = buildImages(name, config, this);
    this.runtime = new DockerRuntime(
      runtimeComponentName(name),
      {
        environment: args.name,
        runner,
        config,
        ...publish,
        serviceEnv: this.serviceEnv,
        serviceImages: images.refs,
        databasePassword,
        protectData: this.dataProtected,
        dependsOn: [...ready, ...images.resources],
      },
      { parent: this },
    );
    this.destroyGuard = destroyGuard(name, args.name, this.dataProtected, [this.runtime, this.vm, this.managedDatabase, this.dns], this);
    this.url = environmentUrl(config, publish);
    this.registerOutputs({ url: this.url });
  }

  /** Records an operator must create when DNS is managed elsewhere (empty when managed here). */
  get recordsToCreate(): pulumi.Output<DnsRecordSpec[]> {
    if (!this.dns || this.dns.records.length > 0) return pulumi.output([]);
    return this.dns.required;
  }
}

/** The Scaleway API secret key (`scaleway:secretKey`, else SCW_SECRET_KEY), as a secret. */
function scalewaySecretKey(): pulumi.Output<string> | undefined {
  const configured = new pulumi.Config("scaleway").getSecret("secretKey");
  if (configured !== undefined) return configured;
  const fromEnv = process.env.SCW_SECRET_KEY;
  return fromEnv ? pulumi.secret(fromEnv) : undefined;
}

/**
 * A `scaleway-container` environment: a Private Network, the managed database on it (no public
 * endpoint), and the serverless containers, which get their secrets and DATABASE_* as secret
 * environment variables. No Docker runtime, no nginx: the platform routes, scales and serves TLS.
 */
function serverlessEnvironment(name: string, args: EnvironmentArgs, host: ScalewayContainerHostConfig, protect: boolean, parent: pulumi.Resource) {
  const { config } = args;
  const { database } = config;
  if (database.kind !== "scaleway-managed") throw new Error("unreachable: the schema pairs serverless containers with a managed database");
  const registrySecretKey = scalewaySecretKey();
  const building = config.services.filter((service) => service.build).map((service) => service.name);
  if (building.length > 0 && registrySecretKey === undefined) {
    throw new Error(
      `services ${building.join(", ")} build an image, and pushing it to the Scaleway registry needs the API secret key: export SCW_SECRET_KEY (or pulumi config set --secret scaleway:secretKey)`,
    );
  }
  const network = new PrivateNetwork(`${name}-network`, { environment: args.name, region: host.region }, { parent });
  const db = new ManagedDatabase(`${name}-db`, { database, environment: args.name, privateNetworkId: network.id, protect }, { parent });
  const serviceEnv = Object.fromEntries(config.services.map((service) => [service.name, serviceEnvironment(service, args.secrets, db.env)]));
  // The platform's secret variables: everything but the plain env.
  const secretEnv = Object.fromEntries(config.services.map((service) => [service.name, serviceEnvironment({ ...service, env: {} }, args.secrets, db.env)]));
  const containers = new ScalewayContainersHost(
    `${name}-containers`,
    { host, services: config.services, dns: config.dns, environment: args.name, secretEnv, privateNetworkId: network.id, registrySecretKey },
    { parent },
  );
  return { database: db, containers, serviceEnv };
}

/**
 * `protect` on the data alone refuses its deletion only once its dependents are gone: a refused
 * destroy would leave the environment half-removed. This guard depends on everything and shares
 * the data's protection, so a refused destroy fails at its very first step, touching nothing.
 * Always declared (protect follows config): removing a protected resource from the program fails.
 */
function destroyGuard(
  name: string,
  environment: string,
  protect: boolean,
  everything: (pulumi.Resource | undefined)[],
  parent: pulumi.Resource,
): random.RandomId {
  return new random.RandomId(
    `${name}-destroy-guard`,
    { byteLength: 4, keepers: { environment } },
    { parent, protect, dependsOn: everything.filter((r): r is pulumi.Resource => r !== undefined) },
  );
}

/** The canonical URL: the first hostname, with the published port when it is not the default. */
export function environmentUrl(config: StackConfig, publish: { httpPort: number; httpsPort: number }): string {
  const tls = config.tls.enabled;
  const port = tls ? publish.httpsPort : publish.httpPort;
  const defaultPort = tls ? 443 : 80;
  const hostname =
    config.dns.hostnames[0] === "localhost" && config.host.kind === "local"
      ? config.host.bindAddress.replace(/^0\.0\.0\.0$/, "127.0.0.1")
      : config.dns.hostnames[0];
  return `${tls ? "https" : "http"}://${hostname}${port === defaultPort ? "" : `:${port}`}`;
}
