import * as pulumi from "@pulumi/pulumi";
import { sshServerKey, sshServers } from "../config/rules";
import { PROGRAM_SECRETS, StackConfigOf } from "../config/schema";
import { ContainerDatabase } from "../database/container";
import { externalDatabaseEnv } from "../database/external";
import { DnsRecords } from "../dns/records";
import { hostContract } from "../runtime/contract";
import { sshConnection, SshRunner } from "../runtime/runner";
import { Publish } from "../runtime/runtime";
import { EnvironmentHost, HostArgs, HostDatabase, HostOutputs, Machine } from "./host";

type SshConfig = StackConfigOf<"ssh">;

/**
 * Host kind `ssh`: existing servers reached over SSH with their host keys pinned. One server takes
 * a PostgreSQL container; several (`hosts`) share an external database, behind the operator's load
 * balancer (`loadBalancerAddress`, what the DNS records point at).
 */
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
    const servers = sshServers(host);
    // Several servers: clients reach the load balancer, never one server directly.
    const publicAddress = servers.length > 1 || host.loadBalancerAddress ? host.loadBalancerAddress : servers[0]!.address;
    if (dns.provider !== "none" && !/^\d+\.\d+\.\d+\.\d+$/.test(publicAddress ?? "")) {
      throw new Error(`dns: records need host.address (or host.loadBalancerAddress) to be an IPv4 address, not ${publicAddress}`);
    }
    this.machines = servers.map((server) => ({
      runner: new SshRunner(sshConnection({ host: server.address, port: server.port, user: server.user, privateKey, hostKey: server.hostKey })),
      ready: [],
      label: server.address,
      address: server.address,
      key: sshServerKey(server),
    }));
    let db: ContainerDatabase | undefined;
    if (database.kind === "external") {
      const password = args.secrets[PROGRAM_SECRETS.databasePassword];
      if (password === undefined)
        throw new Error(`${name}: database.kind "external" needs its password: pulumi config set --secret permacoop:databasePassword`);
      this.database = { env: externalDatabaseEnv(database, password) };
    } else {
      db = new ContainerDatabase(
        `${name}-db`,
        { database, host: args.envId.apply((id) => hostContract(args.environment, id).dbContainer) },
        { parent: args.parent },
      );
      this.database = { env: db.env, containerPassword: db.password };
    }
    this.dns = dns.provider !== "none" ? new DnsRecords(`${name}-dns`, { dns, ipv4: publicAddress! }, { parent: args.parent }) : undefined;
    this.publish = { bindAddress: host.bindAddress, httpPort: host.httpPort, httpsPort: host.httpsPort };
    this.resources = [...(db ? [db] : []), ...(this.dns ? [this.dns] : [])];
    this.outputs = {
      host: { kind: host.kind, ...(host.loadBalancerAddress ? { loadBalancerAddress: host.loadBalancerAddress } : {}) },
      ...(servers.length > 1 ? { servers: servers.map((s) => ({ host: s.address, port: s.port, user: s.user, hostKey: s.hostKey })) } : {}),
    };
  }
}
