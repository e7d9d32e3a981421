import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { accessoryEnvPrefix } from "../config/rules";
import { AccessoryConfig } from "../config/schema";
import { ACCESSORY_PORTS, accessoryNames, HostContract, S3_ACCESS_KEY_ID, S3_REGION } from "../runtime/contract";
import { envFile } from "../runtime/dockerRuntime";

export interface ContainerAccessoriesArgs {
  /** The validated `permacoop:accessories`. */
  readonly accessories: readonly AccessoryConfig[];
  /** The environment's names on its machine (container names: the services reach an accessory by its name). */
  readonly contract: pulumi.Input<HostContract>;
}

/**
 * Credentials of the accessories the host runtime runs in containers: one random password each,
 * kept in the state as a secret; the variables every service receives (secret), and what each
 * accessory's container starts with (an env file on the step's stdin, never argv).
 */
export class ContainerAccessories extends pulumi.ComponentResource {
  /** The variables every service receives (`S3_ENDPOINT`, `REDIS_URL`, …), secret. */
  public readonly serviceEnv: pulumi.Output<Record<string, string>>;
  /** The env file each accessory's container starts with, by accessory name (secret). */
  public readonly containerEnv: Readonly<Record<string, pulumi.Output<string>>>;

  constructor(name: string, args: ContainerAccessoriesArgs, opts?: pulumi.ComponentResourceOptions) {
    super("permacoop:index:ContainerAccessories", name, {}, opts);
    const containerEnv: Record<string, pulumi.Output<string>> = {};
    const serviceEnv = args.accessories.map((accessory) => {
      const password = new random.RandomPassword(`${name}-${accessory.name}-password`, { length: 32, special: false }, { parent: this }).result;
      const prefix = accessoryEnvPrefix(accessory);
      containerEnv[accessory.name] = pulumi.secret(password.apply((value) => envFile(containerVariables(accessory, value))));
      return pulumi.all([pulumi.output(args.contract), password]).apply(([contract, value]) => {
        const host = accessoryNames(contract, accessory.name).container;
        return Object.fromEntries(Object.entries(serviceVariables(accessory, host, value)).map(([key, v]) => [`${prefix}_${key}`, v]));
      });
    });
    this.serviceEnv = pulumi.secret(pulumi.all(serviceEnv).apply((parts) => Object.assign({}, ...parts) as Record<string, string>));
    this.containerEnv = containerEnv;
    this.registerOutputs({ serviceEnv: this.serviceEnv });
  }
}

/** What an accessory's container reads its password from. Pure. */
export function containerVariables(accessory: AccessoryConfig, password: string): Record<string, string> {
  switch (accessory.type) {
    case "s3":
      return { MINIO_ROOT_USER: S3_ACCESS_KEY_ID, MINIO_ROOT_PASSWORD: password };
    case "redis":
      return { REDIS_PASSWORD: password };
    case "generic":
      return { ...accessory.env, ...(accessory.passwordEnv ? { [accessory.passwordEnv]: password } : {}) };
  }
}

/** What the services receive from an accessory, without its prefix (see `accessoryVariables`). Pure. */
export function serviceVariables(accessory: AccessoryConfig, host: string, password: string): Record<string, string> {
  switch (accessory.type) {
    case "s3":
      return {
        ENDPOINT: `http://${host}:${ACCESSORY_PORTS.s3}`,
        BUCKET: accessory.bucket ?? accessory.name,
        ACCESS_KEY_ID: S3_ACCESS_KEY_ID,
        SECRET_ACCESS_KEY: password,
        REGION: S3_REGION,
      };
    case "redis":
      return { URL: `redis://:${password}@${host}:${ACCESSORY_PORTS.redis}/0` };
    case "generic":
      return { HOST: host, PORT: String(accessory.port), ...(accessory.passwordEnv ? { PASSWORD: password } : {}) };
  }
}
