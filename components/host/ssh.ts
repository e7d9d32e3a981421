import * as pulumi from "@pulumi/pulumi";
import { PROGRAM_SECRETS, StackConfigOf } from "../config/schema";
import { ContainerDatabase } from "../database/container";
import { DnsRecords } from "../dns/records";
import { hostContract } from "../runtime/contract";
import { sshConnection, SshRunner } from "../runtime/runner";
import { Publish } from "../runtime/runtime";
import { EnvironmentHost, HostArgs, HostDatabase, HostOutputs, Machine } from "./host";

type SshConfig = StackConfigOf<"ssh">;

/** Host kind `ssh`: an existing server reached over SSH with its host key pinned, a PostgreSQL container. */
export class SshHost implements EnvironmentHost {
  public readonly machines: readonly Machine[];
  public readonly publish: Publish;
  public readonly database: HostDatabase;
  public readonly dns?: DnsRecords;
  public readonly resources: readonly pulumi.Resource[];
  public readonly outputs: HostOutputs;

  constructor(name: string, args: HostArgs<SshConfig>) {
    const { host, database, dns } = args.config;
    const privateKey = args.secrets[PROGRAM_SECRETS.sshPrivateKey];
    if (privateKey === undefined) {
      throw new Error(
        `${name}: host.kind "ssh" needs the deploy user's private key: pulumi config set --secret permacoop:${PROGRAM_SECRETS.sshPrivateKey} < ~/.ssh/deploy_ed25519`,
      );
    }
    if (dns.provider !== "none" && !/^\d+\.\d+\.\d+\.\d+$/.test(host.address)) {
      throw new Error(`dns: records need host.address to be an IPv4 address, not ${host.address}`);
    }
    const connection = sshConnection({ host: host.address, port: host.port, user: host.user, privateKey, hostKey: host.hostKey });
    this.machines = [{ runner: new SshRunner(connection), ready: [] }];
    const db = new ContainerDatabase(
      `${name}-db`,
      { database, host: args.envId.apply((id) => hostContract(args.environment, id).dbContainer) },
      { parent: args.parent },
    );
    this.database = { env: db.env, containerPassword: db.password };
    this.dns = dns.provider !== "none" ? new DnsRecords(`${name}-dns`, { dns, ipv4: host.address }, { parent: args.parent }) : undefined;
    this.publish = { bindAddress: host.bindAddress, httpPort: host.httpPort, httpsPort: host.httpsPort };
    this.resources = this.dns ? [db, this.dns] : [db];
    this.outputs = { host: { kind: host.kind } };
  }
}
