import * as pulumi from "@pulumi/pulumi";
import { StackConfig } from "./config/schema";
import { ContainerDatabase } from "./database/container";
import { DatabaseEnv, ManagedDatabase } from "./database/managed";
import { DnsRecords, DnsRecordSpec } from "./dns/records";
import { ScalewayVmHost } from "./host/scalewayVm";
import { buildImages } from "./runtime/images";
import { DockerRuntime } from "./runtime/dockerRuntime";
import { LocalRunner } from "./runtime/runner";
import { runtimeNames } from "./runtime/runtime";

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
 * rolled out on it. Which components it composes follows `host.kind`.
 */
export class Environment extends pulumi.ComponentResource {
  /** The Scaleway VM (host kind `scaleway-vm`). */
  public readonly vm?: ScalewayVmHost;
  /** Managed PostgreSQL (database kind `scaleway-managed`). */
  public readonly managedDatabase?: ManagedDatabase;
  /** DNS records (public hosts). */
  public readonly dns?: DnsRecords;
  /** Containers on a Docker engine (host kind `local`). */
  public readonly runtime?: DockerRuntime;
  /** Canonical URL. */
  public readonly url: string;
  /** Environment variables per service name (secret). */
  public readonly serviceEnv: Record<string, pulumi.Output<Record<string, string>>>;
  /** Whether the data refuses `pulumi destroy`. */
  public readonly dataProtected: boolean;

  constructor(name: string, args: EnvironmentArgs, opts?: pulumi.ComponentResourceOptions) {
    super("permacoop:index:Environment", name, {}, opts);
    const { config } = args;
    const { host, database } = config;
    this.dataProtected = database.protect ?? args.name === "prod";
    let databaseEnv: pulumi.Output<DatabaseEnv>;

    if (host.kind === "scaleway-vm" && database.kind === "scaleway-managed") {
      this.vm = new ScalewayVmHost(`${name}-host`, { host, environment: args.name }, { parent: this });
      this.managedDatabase = new ManagedDatabase(
        `${name}-db`,
        { database, environment: args.name, allowedIpv4: this.vm.ipv4, protect: this.dataProtected },
        { parent: this },
      );
      this.dns = new DnsRecords(`${name}-dns`, { dns: config.dns, ipv4: this.vm.ipv4, ipv6: this.vm.ipv6 }, { parent: this });
      databaseEnv = this.managedDatabase.env;
      this.serviceEnv = this.envOf(config, args.secrets, databaseEnv);
      const scheme = config.tls.enabled ? "https" : "http";
      this.url = `${scheme}://${config.dns.hostnames[0]}`;
    } else if (host.kind === "local" && database.kind === "container") {
      const names = runtimeNames(args.name);
      const db = new ContainerDatabase(`${name}-db`, { database, host: names.dbContainer }, { parent: this });
      this.serviceEnv = this.envOf(config, args.secrets, db.env);
      const images = buildImages(name, config, this);
      this.runtime = new DockerRuntime(
        `${name}-runtime`,
        {
          environment: args.name,
          runner: new LocalRunner(),
          config,
          bindAddress: host.bindAddress,
          httpPort: host.httpPort,
          httpsPort: host.httpsPort,
          serviceEnv: this.serviceEnv,
          serviceImages: images.refs,
          databasePassword: db.password,
          dependsOn: images.resources,
        },
        { parent: this },
      );
      const address = host.bindAddress.includes(":") ? `[${host.bindAddress}]` : host.bindAddress;
      this.url = config.tls.enabled ? `https://${address}:${host.httpsPort}` : `http://${address === "0.0.0.0" ? "127.0.0.1" : address}:${host.httpPort}`;
    } else {
      // The schema refuses these combinations; this guard keeps the compiler and readers sure.
      throw new Error(`Environment ${args.name}: host kind ${host.kind} with database kind ${database.kind} is not supported`);
    }

    this.registerOutputs({ url: this.url });
  }

  private envOf(
    config: StackConfig,
    secrets: EnvironmentArgs["secrets"],
    databaseEnv: pulumi.Output<DatabaseEnv>,
  ): Record<string, pulumi.Output<Record<string, string>>> {
    return Object.fromEntries(config.services.map((service) => [service.name, serviceEnvironment(service, secrets, databaseEnv)]));
  }

  /** Records an operator must create when DNS is managed elsewhere (empty when managed here). */
  get recordsToCreate(): pulumi.Output<DnsRecordSpec[]> {
    if (!this.dns || this.dns.records.length > 0) return pulumi.output([]);
    return this.dns.required;
  }
}
