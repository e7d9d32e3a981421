import * as pulumi from "@pulumi/pulumi";
import { StackConfig } from "./config/schema";
import { DatabaseEnv, ManagedDatabase } from "./database/managed";
import { DnsRecords, DnsRecordSpec } from "./dns/records";
import { ScalewayVmHost } from "./host/scalewayVm";

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
 * One Permacoop environment: the host, its database, its DNS records, and the environment
 * every service container receives.
 */
export class Environment extends pulumi.ComponentResource {
  public readonly host: ScalewayVmHost;
  public readonly database: ManagedDatabase;
  public readonly dns: DnsRecords;
  /** Canonical URL. */
  public readonly url: string;
  /** Environment variables per service name (secret). */
  public readonly serviceEnv: Record<string, pulumi.Output<Record<string, string>>>;

  constructor(name: string, args: EnvironmentArgs, opts?: pulumi.ComponentResourceOptions) {
    super("permacoop:index:Environment", name, {}, opts);
    const { config } = args;

    this.host = new ScalewayVmHost(`${name}-host`, { host: config.host, environment: args.name }, { parent: this });
    this.database = new ManagedDatabase(`${name}-db`, { database: config.database, environment: args.name, allowedIpv4: this.host.ipv4 }, { parent: this });
    this.dns = new DnsRecords(`${name}-dns`, { dns: config.dns, ipv4: this.host.ipv4, ipv6: this.host.ipv6 }, { parent: this });

    this.serviceEnv = Object.fromEntries(config.services.map((service) => [service.name, serviceEnvironment(service, args.secrets, this.database.env)]));
    const scheme = config.tls.enabled ? "https" : "http";
    this.url = `${scheme}://${config.dns.hostnames[0]}`;

    this.registerOutputs({ url: this.url, hostIpv4: this.host.ipv4, dnsRecords: this.dns.required });
  }

  /** Records an operator must create when DNS is managed elsewhere (empty when managed here). */
  get recordsToCreate(): pulumi.Output<DnsRecordSpec[]> {
    return this.dns.records.length > 0 ? pulumi.output([]) : this.dns.required;
  }
}
