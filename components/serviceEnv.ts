import * as pulumi from "@pulumi/pulumi";
import { ServiceConfig } from "./config/schema";
import { DatabaseEnv } from "./database/managed";

/** Environment variables of one service: its plain `env`, its secrets, DATABASE_* and the accessories' variables (secret). */
export function serviceEnvironment(
  service: ServiceConfig,
  secrets: Readonly<Record<string, pulumi.Input<string>>>,
  database: pulumi.Input<DatabaseEnv>,
  accessories: pulumi.Input<Record<string, string>> = {},
): pulumi.Output<Record<string, string>> {
  const secretValues = Object.entries(service.secretEnv).map(([envName, key]) => {
    const value = secrets[key];
    if (value === undefined) throw new Error(`services.${service.name}.secretEnv.${envName}: secret permacoop:${key} is not set`);
    return value;
  });
  const secretNames = Object.keys(service.secretEnv);
  const databaseEnv = pulumi.output(database) as pulumi.Output<DatabaseEnv>;
  return pulumi.secret(
    pulumi.all([databaseEnv, pulumi.all(secretValues), pulumi.output(accessories)]).apply(([db, values, fromAccessories]): Record<string, string> => ({
      ...service.env,
      ...Object.fromEntries(secretNames.map((envName, i) => [envName, values[i] as string])),
      ...db,
      ...fromAccessories,
    })),
  );
}
