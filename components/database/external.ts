import * as pulumi from "@pulumi/pulumi";
import { ExternalDatabaseConfig } from "../config/schema";
import { DatabaseEnv } from "./managed";

/**
 * A PostgreSQL server run elsewhere, that every host reaches: the program declares nothing there
 * (it never creates, changes or deletes that database), it only hands its coordinates to the services.
 */
export function externalDatabaseEnv(database: ExternalDatabaseConfig, password: pulumi.Input<string>): pulumi.Output<DatabaseEnv> {
  return pulumi.secret(
    pulumi.output(password).apply((value) => ({
      DATABASE_HOST: database.host,
      DATABASE_PORT: String(database.port),
      DATABASE_USERNAME: database.user,
      DATABASE_PASSWORD: value,
      DATABASE_NAME: database.name,
    })),
  );
}
