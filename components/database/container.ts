import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { ContainerDatabaseConfig } from "../config/schema";
import { DatabaseEnv } from "./managed";

export interface ContainerDatabaseArgs {
  /** The validated `permacoop:database` config. */
  readonly database: ContainerDatabaseConfig;
  /** Container name of PostgreSQL on the environment's network. */
  readonly host: pulumi.Input<string>;
}

/**
 * Credentials of a PostgreSQL container (run by the host runtime): a random password kept in
 * the state as a secret, and the DATABASE_* variables the services receive.
 */
export class ContainerDatabase extends pulumi.ComponentResource {
  /** DATABASE_* variables for the app services (secret). */
  public readonly env: pulumi.Output<DatabaseEnv>;
  /** Password of the application user (secret), for the container's POSTGRES_PASSWORD. */
  public readonly password: pulumi.Output<string>;

  constructor(name: string, args: ContainerDatabaseArgs, opts?: pulumi.ComponentResourceOptions) {
    super("permacoop:index:ContainerDatabase", name, {}, opts);
    const password = new random.RandomPassword(`${name}-password`, { length: 32, special: false }, { parent: this });
    this.password = pulumi.secret(password.result);
    this.env = pulumi.secret(
      pulumi.all([password.result, args.host]).apply(([value, host]) => ({
        DATABASE_HOST: host,
        DATABASE_PORT: "5432",
        DATABASE_USERNAME: args.database.user,
        DATABASE_PASSWORD: value,
        DATABASE_NAME: args.database.name,
      })),
    );
    this.registerOutputs({ env: this.env });
  }
}
