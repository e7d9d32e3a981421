import { StackConfigOf } from "../config/schema";
import { ContainerDatabase } from "../database/container";
import { hostContract } from "../runtime/contract";
import { LocalRunner } from "../runtime/runner";
import { EnvironmentHost, HostArgs, HostDatabase, HostOutputs, Machine } from "./host";
import { Publish } from "../runtime/runtime";

type LocalConfig = StackConfigOf<"local">;

/** Host kind `local`: this machine's Docker engine, a PostgreSQL container, no DNS. */
export class LocalHost implements EnvironmentHost {
  public readonly machines: readonly Machine[] = [{ runner: new LocalRunner(), ready: [] }];
  public readonly publish: Publish;
  public readonly database: HostDatabase;
  public readonly resources: readonly ContainerDatabase[];
  public readonly outputs: HostOutputs;

  constructor(name: string, args: HostArgs<LocalConfig>) {
    const { host, database } = args.config;
    const db = new ContainerDatabase(
      `${name}-db`,
      { database, host: args.envId.apply((id) => hostContract(args.environment, id).dbContainer) },
      { parent: args.parent },
    );
    this.database = { env: db.env, containerPassword: db.password };
    this.publish = { bindAddress: host.bindAddress, httpPort: host.httpPort, httpsPort: host.httpsPort };
    this.resources = [db];
    this.outputs = { host: { kind: host.kind } };
  }
}
