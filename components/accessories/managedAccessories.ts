import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import * as scaleway from "@pulumiverse/scaleway";
import { accessoryEnvPrefix } from "../config/rules";
import { AccessoryConfig } from "../config/schema";
import { hostAclRules } from "../database/managed";

/** What a key of an `s3` accessory may do: the objects of its project's buckets, not the buckets themselves. */
export const OBJECT_PERMISSION_SETS = ["ObjectStorageBucketsRead", "ObjectStorageObjectsRead", "ObjectStorageObjectsWrite", "ObjectStorageObjectsDelete"];
/** A bucket name's stem from a stack name (any case, `_`, `.`) and a bucket: lower case, letters, digits, dashes; room for `-<6 hex>`. */
export function bucketStem(environment: string, bucket: string): string {
  return `${environment}-${bucket}`
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, "-")
    .replace(/^-+/, "")
    .slice(0, 56)
    .replace(/-+$/, "");
}

/** Redis's user on a managed cluster. */
export const MANAGED_REDIS_USER = "permacoop";

export interface ManagedAccessoriesArgs {
  /** The `s3` and `redis` accessories the platform runs (`managedAccessories`). */
  readonly accessories: readonly AccessoryConfig[];
  /** Environment (stack) name, used for names and tags. */
  readonly environment: string;
  /** Region of the buckets (`fr-par`). */
  readonly region: string;
  /** Zone of the Redis clusters (`fr-par-1`). */
  readonly zone: string;
  /** Reach Redis over this Private Network (serverless containers): no public endpoint. Exclusive with `allowedIpv4s`. */
  readonly privateNetworkId?: pulumi.Input<string>;
  /** The addresses Redis's public endpoint admits (the VMs'), one ACL rule each. Exclusive with `privateNetworkId`. */
  readonly allowedIpv4s?: readonly pulumi.Input<string>[];
  /** Refuse deletion on `pulumi destroy` (the data's protection). */
  readonly protect: boolean;
}

/**
 * The Scaleway equivalents of the accessories: an `s3` one is an Object Storage bucket (versioned:
 * an overwritten or deleted object can be brought back) with a key of its own (an IAM application
 * allowed the objects of the project's buckets, not to create or delete buckets); a `redis` one is
 * a Managed Database for Redis with TLS, reached over the Private Network or, from a VM, on a public
 * endpoint whose ACL admits the VM alone. The services receive the same variables as from the
 * containers (secret).
 */
export class ManagedAccessories extends pulumi.ComponentResource {
  /** The variables every service receives (`S3_ENDPOINT`, `REDIS_URL`, …), secret. */
  public readonly serviceEnv: pulumi.Output<Record<string, string>>;
  public readonly buckets: Record<string, scaleway.object.Bucket> = {};
  public readonly redisClusters: Record<string, scaleway.redis.Cluster> = {};

  constructor(name: string, args: ManagedAccessoriesArgs, opts?: pulumi.ComponentResourceOptions) {
    super("permacoop:index:ManagedAccessories", name, {}, opts);
    if ((args.allowedIpv4s === undefined) === (args.privateNetworkId === undefined)) {
      throw new Error(`${name}: give exactly one of allowedIpv4s (public endpoint) and privateNetworkId`);
    }
    const tags = ["permacoop", `env:${args.environment}`];
    const keep = { parent: this, protect: args.protect };
    const parts = args.accessories.map((accessory): pulumi.Output<Record<string, string>> => {
      const prefix = accessoryEnvPrefix(accessory);
      const prefixed = (env: pulumi.Output<Record<string, string>>) =>
        env.apply((vars) => Object.fromEntries(Object.entries(vars).map(([key, value]) => [`${prefix}_${key}`, value])));
      if (accessory.type === "s3") return prefixed(this.s3(`${name}-${accessory.name}`, accessory, args, keep));
      if (accessory.type === "redis") return prefixed(this.redis(`${name}-${accessory.name}`, accessory, args, tags, keep));
      throw new Error(`${name}: accessory ${accessory.name} (${accessory.type}) has no managed equivalent`);
    });
    this.serviceEnv = pulumi.secret(pulumi.all(parts).apply((env) => Object.assign({}, ...env) as Record<string, string>));
    this.registerOutputs({ serviceEnv: this.serviceEnv });
  }

  private s3(
    name: string,
    accessory: Extract<AccessoryConfig, { type: "s3" }>,
    args: ManagedAccessoriesArgs,
    keep: pulumi.CustomResourceOptions,
  ): pulumi.Output<Record<string, string>> {
    // Bucket names are global to Scaleway: the stack's, the accessory's, and a suffix of its own.
    const suffix = new random.RandomId(`${name}-suffix`, { byteLength: 3 }, { parent: this });
    const bucket = new scaleway.object.Bucket(
      `${name}-bucket`,
      {
        name: pulumi.interpolate`${bucketStem(args.environment, accessory.bucket ?? accessory.name)}-${suffix.hex}`,
        region: args.region,
        versioning: { enabled: true },
        // Unprotected (a review environment): destroy empties it, every version included.
        forceDestroy: !args.protect,
        tags: { permacoop: "true", env: args.environment },
      },
      keep,
    );
    this.buckets[accessory.name] = bucket;
    const application = new scaleway.iam.Application(
      `${name}-key`,
      {
        name: `permacoop-${args.environment}-${accessory.name}`,
        description: `Objects of the ${args.environment} environment's ${accessory.name} bucket (permacoop)`,
      },
      { parent: this },
    );
    new scaleway.iam.Policy(
      `${name}-key`,
      {
        name: `permacoop-${args.environment}-${accessory.name}`,
        description: "Objects of the project's buckets: read, write, delete (not the buckets)",
        applicationId: application.id,
        rules: [{ projectIds: [bucket.projectId], permissionSetNames: OBJECT_PERMISSION_SETS }],
      },
      { parent: this },
    );
    const key = new scaleway.iam.ApiKey(
      `${name}-key`,
      { applicationId: application.id, description: `The services of ${args.environment} (accessory ${accessory.name})` },
      { parent: this, additionalSecretOutputs: ["secretKey"] },
    );
    return pulumi.all([bucket.name, key.accessKey, key.secretKey]).apply(([bucketName, accessKey, secretKey]): Record<string, string> => ({
      ENDPOINT: `https://s3.${args.region}.scw.cloud`,
      BUCKET: bucketName,
      ACCESS_KEY_ID: accessKey,
      SECRET_ACCESS_KEY: secretKey,
      REGION: args.region,
    }));
  }

  private redis(
    name: string,
    accessory: Extract<AccessoryConfig, { type: "redis" }>,
    args: ManagedAccessoriesArgs,
    tags: string[],
    keep: pulumi.CustomResourceOptions,
  ): pulumi.Output<Record<string, string>> {
    // The platform wants every character class; URL-safe specials keep REDIS_URL valid as is.
    const password = new random.RandomPassword(
      `${name}-password`,
      { length: 32, special: true, overrideSpecial: "-_.~", minLower: 1, minUpper: 1, minNumeric: 1, minSpecial: 1 },
      { parent: this },
    );
    const cluster = new scaleway.redis.Cluster(
      `${name}-cluster`,
      {
        name: `${args.environment}-${accessory.name}`,
        zone: args.zone,
        version: accessory.version,
        nodeType: accessory.nodeType,
        clusterSize: 1,
        userName: MANAGED_REDIS_USER,
        password: password.result,
        tlsEnabled: true,
        tags,
        ...(args.privateNetworkId !== undefined
          ? { privateNetworks: [{ id: args.privateNetworkId }] }
          : { acls: hostAclRules(args.environment, args.allowedIpv4s ?? []) }),
      },
      { ...keep, additionalSecretOutputs: ["password"] },
    );
    this.redisClusters[accessory.name] = cluster;
    const endpoint =
      args.privateNetworkId !== undefined
        ? cluster.privateNetworks.apply((networks) => ({ ip: networks?.[0]?.ips[0]?.replace(/\/\d+$/, ""), port: networks?.[0]?.port }))
        : cluster.publicNetwork.apply((network) => ({ ip: network?.ips[0], port: network?.port }));
    // TLS with the cluster's own CA: the services get it to verify the server (base64: a Docker env
    // file holds one line per variable).
    return pulumi.all([endpoint, password.result, cluster.certificate]).apply(([{ ip, port }, secret, ca]): Record<string, string> => {
      if (!ip || !port) throw new Error(`${name}: the cluster reports no address`);
      return { URL: `rediss://${MANAGED_REDIS_USER}:${secret}@${ip}:${port}`, CA_CERT_BASE64: Buffer.from(ca ?? "").toString("base64") };
    });
  }
}
