import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import * as scaleway from "@pulumiverse/scaleway";
import { ManagedDatabaseConfig } from "../config/schema";

/** The variables every app service receives to reach its database. */
export interface DatabaseEnv {
  readonly DATABASE_HOST: string;
  readonly DATABASE_PORT: string;
  readonly DATABASE_USERNAME: string;
  readonly DATABASE_PASSWORD: string;
  readonly DATABASE_NAME: string;
}

export interface ManagedDatabaseArgs {
  /** The validated `permacoop:database` config. */
  readonly database: ManagedDatabaseConfig;
  /** Environment (stack) name, used for names and tags. */
  readonly environment: string;
  /** The public IPv4 addresses allowed to connect (the hosts'), on the public endpoint, one ACL rule each. Exclusive with `privateNetworkId`. */
  readonly allowedIpv4s?: readonly pulumi.Input<string>[];
  /**
   * Reach the instance over this Private Network instead (serverless containers): the instance then
   * has no public endpoint at all, so no ACL either (ACLs filter the public endpoint). Exclusive with `allowedIpv4s`.
   */
  readonly privateNetworkId?: pulumi.Input<string>;
  /** Refuse deletion on `pulumi destroy`. Default: `database.protect`, else true on prod only. */
  readonly protect?: boolean;
}

/** ACL rules admitting each host's address alone (/32): `<environment> host only` for one host, `<environment> host <N>` for several. */
export function hostAclRules(environment: string, addresses: readonly pulumi.Input<string>[]): { ip: pulumi.Output<string>; description: string }[] {
  return addresses.map((address, i) => ({
    ip: pulumi.interpolate`${address}/32`,
    description: addresses.length === 1 ? `${environment} host only` : `${environment} host ${i + 1}`,
  }));
}

/**
 * Scaleway Managed PostgreSQL: an encrypted instance with daily backups, one database, one
 * application user (random password) with all privileges on it, and an ACL that admits the
 * host's address only — or, on a Private Network, no public endpoint at all. Connection details
 * leave this component as secrets.
 */
export class ManagedDatabase extends pulumi.ComponentResource {
  /** DATABASE_* variables for the app services (secret). */
  public readonly env: pulumi.Output<DatabaseEnv>;
  public readonly instance: scaleway.databases.Instance;
  /** The public endpoint's ACL (absent on a Private Network: there is no public endpoint to filter). */
  public readonly acl?: scaleway.databases.Acl;
  /** Whether destroy is refused for the instance and its database. */
  public readonly protected: boolean;

  constructor(name: string, args: ManagedDatabaseArgs, opts?: pulumi.ComponentResourceOptions) {
    super("permacoop:index:ManagedDatabase", name, {}, opts);
    const { database, environment } = args;
    if ((args.allowedIpv4s === undefined) === (args.privateNetworkId === undefined)) {
      throw new Error(`${name}: give exactly one of allowedIpv4s (public endpoint) and privateNetworkId`);
    }
    const { allowedIpv4s, privateNetworkId } = args;
    this.protected = args.protect ?? database.protect ?? environment === "prod";
    const keep = { parent: this, protect: this.protected };
    const tags = ["permacoop", `env:${environment}`];

    // Scaleway requires an initial admin; the app never uses it.
    const adminPassword = new random.RandomPassword(
      `${name}-admin-password`,
      { length: 32, special: true, overrideSpecial: "-_.~", minLower: 1, minUpper: 1, minNumeric: 1, minSpecial: 1 },
      { parent: this },
    );
    const userPassword = new random.RandomPassword(
      `${name}-user-password`,
      { length: 32, special: true, overrideSpecial: "-_.~", minLower: 1, minUpper: 1, minNumeric: 1, minSpecial: 1 },
      { parent: this },
    );

    this.instance = new scaleway.databases.Instance(
      `${name}-instance`,
      {
        name: `${environment}-db`,
        region: database.region,
        engine: database.engine,
        nodeType: database.nodeType,
        isHaCluster: database.highAvailability,
        volumeType: "sbs_5k",
        volumeSizeInGb: database.volumeSizeGb,
        encryptionAtRest: true,
        disableBackup: false,
        backupScheduleFrequency: database.backupFrequencyHours,
        backupScheduleRetention: database.backupRetentionDays,
        userName: "dbadmin",
        password: adminPassword.result,
        // Either a public endpoint, closed by the ACL below to the host's address only, or a
        // Private Network endpoint alone (the provider adds a public one only when asked).
        ...(privateNetworkId !== undefined ? { privateNetwork: { pnId: privateNetworkId, enableIpam: true } } : { loadBalancer: {} }),
        tags,
      },
      keep,
    );

    const logicalDatabase = new scaleway.databases.Database(
      `${name}-database`,
      { instanceId: this.instance.id, region: database.region, name: database.name },
      keep,
    );
    const user = new scaleway.databases.User(
      `${name}-user`,
      { instanceId: this.instance.id, region: database.region, name: database.user, password: userPassword.result, isAdmin: false },
      { parent: this },
    );
    new scaleway.databases.Privilege(
      `${name}-privilege`,
      { instanceId: this.instance.id, region: database.region, userName: user.name, databaseName: logicalDatabase.name, permission: "all" },
      { parent: this },
    );
    if (allowedIpv4s !== undefined) {
      this.acl = new scaleway.databases.Acl(
        `${name}-acl`,
        { instanceId: this.instance.id, region: database.region, aclRules: hostAclRules(environment, allowedIpv4s) },
        { parent: this },
      );
    }

    const endpoint =
      privateNetworkId !== undefined
        ? this.instance.privateNetwork.apply((pn) => {
            if (!pn?.ip) throw new Error(`${name}: the instance reports no address on its Private Network`);
            return { ip: pn.ip, port: pn.port };
          })
        : this.instance.loadBalancer;
    this.env = pulumi.secret(
      pulumi.all([endpoint, user.name, userPassword.result, logicalDatabase.name]).apply(([endpoint, username, password, dbName]) => ({
        DATABASE_HOST: endpoint.ip,
        DATABASE_PORT: String(endpoint.port),
        DATABASE_USERNAME: username,
        DATABASE_PASSWORD: password,
        DATABASE_NAME: dbName,
      })),
    );
    this.registerOutputs({ env: this.env, instanceId: this.instance.id });
  }
}
