import { ManagedAccessories } from "../accessories/managedAccessories";
import { isManagedAccessory } from "../config/rules";
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import * as scaleway from "@pulumiverse/scaleway";
import { ScalewayVmHostConfig, StackConfigOf } from "../config/schema";
import { ContainerDatabase } from "../database/container";
import { ManagedDatabase } from "../database/managed";
import { DnsRecords } from "../dns/records";
import { hostContract } from "../runtime/contract";
import { SshRunner } from "../runtime/runner";
import { Publish } from "../runtime/runtime";
import { RegistryImages, scalewayPushKey } from "../registry/images";
import { BuiltImages, EnvironmentHost, HostArgs, HostDatabase, HostOutputs, Machine, PUBLIC_EDGE, SshOutput } from "./host";
import { FirstBoot } from "./firstBoot";
import { OpenSshKeyPair } from "./sshKeys";
import { PrivateNetwork } from "../network/privateNetwork";
import { ScalewayLoadBalancer } from "../network/loadBalancer";
import { publicHealthPath } from "../proxy/maintenance";

/** Ports every public host serves to the world. */
export const PUBLIC_PORTS = [80, 443] as const;
const SSH_PORT = 22;

export interface ScalewayVmArgs {
  /** The validated `permacoop:host` config. */
  readonly host: ScalewayVmHostConfig;
  /** Environment (stack) name, used for names and tags. */
  readonly environment: string;
  /** The server's name and host name. Default `<environment>-host`. */
  readonly hostname?: string;
  /**
   * A Private Network to join, with an address of its own (IPAM) on a private NIC: a Load Balancer
   * there reaches the edge, so 80/443 are not opened to the world. Default none: the edge is public.
   */
  readonly privateNetworkId?: pulumi.Input<string>;
  /** The deploy user's key pair (secret), the first VM's: ops reach every VM with the stack's one `sshPrivateKey`. Default one of its own. */
  readonly deployKey?: pulumi.Output<OpenSshKeyPair>;
}

/** The region of a zone: `fr-par` for `fr-par-1`. */
export function regionOf(zone: string): string {
  return zone.replace(/-[0-9]+$/, "");
}

/** One inbound rule of the host's security group. */
export interface InboundRule {
  readonly action: "accept";
  readonly protocol: "TCP";
  readonly port: number;
  readonly ipRange: string;
}

/**
 * Inbound rules of the host: 80/443 from anywhere (unless `publicEdge` is false: behind a Load
 * Balancer, which reaches the VM over the Private Network, where security groups do not apply),
 * 22 from the admin networks only; everything else dropped.
 */
export function inboundRules(adminCidrs: readonly string[], publicEdge = true): InboundRule[] {
  const world = ["0.0.0.0/0", "::/0"];
  return [
    ...(publicEdge ? PUBLIC_PORTS : []).flatMap((port) => world.map((ipRange) => ({ action: "accept" as const, protocol: "TCP" as const, port, ipRange }))),
    ...adminCidrs.map((ipRange) => ({ action: "accept" as const, protocol: "TCP" as const, port: SSH_PORT, ipRange })),
  ];
}

/**
 * A Scaleway Instance that runs the environment's containers: a flexible IP (kept across
 * server replacements), a default-drop security group and a server booted with cloud-init.
 *
 * Cloud-init runs only at first boot, so a change of the rendered user data REPLACES the
 * server (`replaceOnChanges`): `pulumi preview` shows `+-replace` instead of silently
 * keeping a VM that never applied the change. The IP survives, so DNS does not move.
 */
export class ScalewayVm extends pulumi.ComponentResource {
  /** Public IPv4 address. */
  public readonly ipv4: pulumi.Output<string>;
  /** Public IPv6 address, when `host.ipv6` is on. */
  public readonly ipv6?: pulumi.Output<string>;
  /** The user rollouts connect as. */
  public readonly deployUser: string;
  public readonly server: scaleway.instance.Server;
  public readonly securityGroup: scaleway.instance.SecurityGroup;
  /** SSH connection of the deploy user, with the host key pinned (secret). */
  public readonly connection: pulumi.Output<command.types.input.remote.ConnectionArgs>;
  /** Done once cloud-init has finished: Docker is installed and the deploy user exists. */
  public readonly ready: command.remote.Command;
  /** The VM's SSH host public key, pinned at creation: ops put it in known_hosts. */
  public readonly hostPublicKey: pulumi.Output<string>;
  /** Private key of the deploy user (secret), for `npm run ops|backup|drift`. */
  public readonly deployPrivateKey: pulumi.Output<string>;
  /** The deploy user's key pair (secret): the other VMs of the environment share it. */
  public readonly deployKey: pulumi.Output<OpenSshKeyPair>;
  /** The server's name and host name. */
  public readonly hostname: string;
  /** The address on the Private Network, when the VM joined one. */
  public readonly privateIpv4?: pulumi.Output<string>;
  /** The NIC on the Private Network, when the VM joined one. */
  public readonly privateNic?: scaleway.instance.PrivateNic;

  constructor(name: string, args: ScalewayVmArgs, opts?: pulumi.ComponentResourceOptions) {
    // The type token keeps its first name: a new one would change every URN under it (a new VM).
    super("permacoop:index:ScalewayVmHost", name, {}, opts);
    const { host, environment, privateNetworkId } = args;
    const tags = ["permacoop", `env:${environment}`];
    this.hostname = args.hostname ?? `${environment}-host`;

    const ip = new scaleway.instance.Ip(`${name}-ipv4`, { type: "routed_ipv4", zone: host.zone, tags }, { parent: this });
    const ip6 = host.ipv6 ? new scaleway.instance.Ip(`${name}-ipv6`, { type: "routed_ipv6", zone: host.zone, tags }, { parent: this }) : undefined;

    this.securityGroup = new scaleway.instance.SecurityGroup(
      `${name}-sg`,
      {
        name: this.hostname,
        zone: host.zone,
        stateful: true,
        inboundDefaultPolicy: "drop",
        outboundDefaultPolicy: "accept",
        inboundRules: inboundRules(host.adminCidrs, privateNetworkId === undefined),
        tags,
      },
      { parent: this },
    );

    const firstBoot = new FirstBoot(
      name,
      { environment, hostname: args.hostname, deployUser: host.deployUser, sshPublicKeys: host.sshPublicKeys, deployKey: args.deployKey },
      this,
    );
    this.server = new scaleway.instance.Server(
      `${name}-server`,
      {
        name: this.hostname,
        zone: host.zone,
        type: host.type,
        image: host.image,
        rootVolume: { sizeInGb: host.rootVolumeGb, deleteOnTermination: true },
        ipIds: ip6 ? [ip.id, ip6.id] : [ip.id],
        securityGroupId: this.securityGroup.id,
        userData: { "cloud-init": firstBoot.userData },
        tags,
      },
      // The flexible IP can be attached to one server at a time: delete the old one first.
      { parent: this, replaceOnChanges: ["userData"], deleteBeforeReplace: true },
    );

    if (privateNetworkId !== undefined) {
      // Reserved apart from the NIC: the address survives a replaced server (the backend's list stays).
      const privateIp = new scaleway.ipam.Ip(`${name}-private-ipv4`, { region: regionOf(host.zone), sources: [{ privateNetworkId }], tags }, { parent: this });
      this.privateNic = new scaleway.instance.PrivateNic(
        `${name}-private-nic`,
        { zone: host.zone, serverId: this.server.id, privateNetworkId, ipamIpIds: [privateIp.id], tags },
        // The reserved address can be on one NIC at a time: delete the old one first.
        { parent: this, deleteBeforeReplace: true },
      );
      this.privateIpv4 = privateIp.address;
    }

    this.ipv4 = ip.address;
    // A routed IPv6 flexible IP is a /64 prefix: the server's own address is the one it reports.
    this.ipv6 = ip6
      ? this.server.publicIps.apply((ips) => {
          const address = ips.find((candidate) => candidate.family === "inet6")?.address;
          if (!address) throw new Error(`${name}: the server reports no IPv6 address although host.ipv6 is true`);
          return address;
        })
      : undefined;
    this.deployUser = host.deployUser;
    this.hostPublicKey = firstBoot.hostPublicKey;
    this.deployPrivateKey = firstBoot.deployPrivateKey;
    this.deployKey = firstBoot.deployKey;
    // First boot: sshd answers only after the image has booted.
    this.connection = firstBoot.connection(this.ipv4, 60);
    this.ready = firstBoot.waitForCloudInit(this.connection, this.server.id, [this.server]);
    this.registerOutputs({ ipv4: this.ipv4, ipv6: this.ipv6, serverId: this.server.id });
  }
}

type ScalewayVmConfig = StackConfigOf<"scaleway-vm">;

/**
 * Host kind `scaleway-vm`: the VMs this stack creates (`host.count`, one by default), reached over
 * SSH once cloud-init is done; a managed database admitting the VMs' addresses only (or, for
 * throwaway data on one VM, a PostgreSQL container there); DNS records pointing at the VM or, with
 * several, at the Load Balancer in front of them (on their Private Network, terminating TLS).
 */
export class ScalewayVmHost implements EnvironmentHost {
  /** The first VM (the only one by default). */
  public readonly vm: ScalewayVm;
  /** Every VM, the first one first. */
  public readonly vms: readonly ScalewayVm[];
  public readonly machines: readonly Machine[];
  public readonly publish: Publish = PUBLIC_EDGE;
  /** With several VMs: the Load Balancer holds the certificate, the VMs' edges serve HTTP. */
  public readonly terminatesTls: boolean;
  public readonly database: HostDatabase;
  /** The managed database, when `database.kind` is `scaleway-managed`. */
  public readonly managedDatabase?: ManagedDatabase;
  /** The `s3` and `redis` accessories, Scaleway's (Object Storage, Managed Redis). */
  public readonly accessories?: ManagedAccessories;
  public readonly accessoryEnv?: pulumi.Output<Record<string, string>>;
  public readonly dns: DnsRecords;
  /** The Private Network the VMs and the Load Balancer share, with several VMs. */
  public readonly network?: PrivateNetwork;
  /** The Load Balancer in front of the VMs, with several. */
  public readonly loadBalancer?: ScalewayLoadBalancer;
  /** The environment's registry namespace, when services build and no `buildRegistry` is set. */
  public readonly registry?: RegistryImages;
  public readonly builtImages?: BuiltImages;
  public readonly resources: readonly pulumi.Resource[];
  public readonly outputs: HostOutputs;

  constructor(name: string, args: HostArgs<ScalewayVmConfig>) {
    const { host, database, dns } = args.config;
    const parent = args.parent;
    const several = host.count > 1;
    this.terminatesTls = several;
    // Several VMs share a Private Network with the Load Balancer. The first VM keeps the names of
    // a single one: going from one VM to several keeps it (and its address) rather than replacing it.
    this.network = several ? new PrivateNetwork(`${name}-network`, { environment: args.environment, region: regionOf(host.zone) }, { parent }) : undefined;
    this.vm = new ScalewayVm(`${name}-host`, { host, environment: args.environment, privateNetworkId: this.network?.id }, { parent });
    const vm = this.vm;
    this.vms = [
      vm,
      ...Array.from(
        { length: host.count - 1 },
        (_, i) =>
          new ScalewayVm(
            `${name}-host${i + 2}`,
            { host, environment: args.environment, hostname: `${args.environment}-host${i + 2}`, privateNetworkId: this.network?.id, deployKey: vm.deployKey },
            { parent },
          ),
      ),
    ];
    // Built images travel through the environment's own registry namespace, unless buildRegistry names another.
    const building = args.config.services.filter((service) => service.build);
    const secretKey = args.config.buildRegistry === undefined ? scalewayPushKey(building) : undefined;
    if (secretKey !== undefined) {
      this.registry = new RegistryImages(
        `${name}-registry`,
        {
          environment: args.environment,
          region: regionOf(host.zone),
          namespace: host.registryNamespace ?? `permacoop-${args.environment}`,
          services: building,
          secretKey,
          pullLogin: true,
        },
        { parent },
      );
      this.builtImages = { refs: this.registry.refs, resources: this.registry.pushes };
    }
    const pull = this.registry?.pull;
    this.machines = this.vms.map((vm) => ({
      runner: new SshRunner(vm.connection),
      ready: [vm.ready],
      identity: vm.server.id,
      registryLogins: pull ? [pull] : [],
      ...(several ? { label: vm.hostname } : {}),
    }));
    // The VMs reach the managed services on their public endpoints, each admitting the VMs' addresses only.
    const vmAddresses = this.vms.map((vm) => vm.ipv4);
    let db: ManagedDatabase | ContainerDatabase;
    if (database.kind === "scaleway-managed") {
      db = this.managedDatabase = new ManagedDatabase(
        `${name}-db`,
        { database, environment: args.environment, allowedIpv4s: vmAddresses, protect: args.protectData },
        { parent },
      );
      this.database = { env: db.env };
    } else {
      // An ephemeral database on the VM (review environments): the loader refuses it for protected data.
      void pulumi.log.warn(
        "database.kind container on a scaleway-vm: the data lives on the VM's disk; if the server is replaced (shown as +-replace), the database starts EMPTY on the new one. Keep a copy: npm run backup -- -s " +
          `${args.environment} --download <dir>`,
        parent,
      );
      db = new ContainerDatabase(`${name}-db`, { database, host: args.envId.apply((id) => hostContract(args.environment, id).dbContainer) }, { parent });
      this.database = { env: db.env, containerPassword: db.password };
    }
    const managed = args.config.accessories.filter((accessory) => isManagedAccessory(host.kind, accessory));
    if (managed.length > 0) {
      this.accessories = new ManagedAccessories(
        `${name}-accessories`,
        {
          accessories: managed,
          environment: args.environment,
          region: regionOf(host.zone),
          zone: host.zone,
          allowedIpv4s: vmAddresses,
          protect: args.protectData,
        },
        { parent },
      );
      this.accessoryEnv = this.accessories.serviceEnv;
    }
    let records: DnsRecords | undefined;
    if (this.network) {
      // The Load Balancer checks the edge, through a route: the first service whose health path is reachable there (the rules require one).
      const healthPath = args.config.services
        .map((service) => publicHealthPath({ prefix: service.route, stripPrefix: service.stripPrefix }, service.healthPath))
        .find((path) => path !== undefined);
      if (healthPath === undefined) throw new Error(`${name}: no service's health path is reachable through the edge (the configuration was not validated)`);
      this.loadBalancer = new ScalewayLoadBalancer(
        `${name}-lb`,
        {
          environment: args.environment,
          zone: host.zone,
          type: host.loadBalancerType,
          privateNetworkId: this.network.id,
          serverIps: this.vms.map((vm) => vm.privateIpv4!),
          healthCheck: {
            path: healthPath,
            hostHeader: dns.hostnames[0]!,
          },
          hostnames: dns.hostnames,
          tls: args.config.tls.enabled,
          // The records name the Load Balancer, never a VM: a dead VM leaves the rotation, not the DNS.
          records: (address) => (records = new DnsRecords(`${name}-dns`, { dns, ipv4: address }, { parent })).records,
          dependsOn: this.vms.map((vm) => vm.privateNic!),
        },
        { parent },
      );
    }
    this.dns = records ?? new DnsRecords(`${name}-dns`, { dns, ipv4: this.vm.ipv4, ipv6: this.vm.ipv6 }, { parent });
    this.resources = [
      ...this.vms,
      db,
      this.dns,
      ...(this.network ? [this.network] : []),
      ...(this.loadBalancer ? [this.loadBalancer] : []),
      ...(this.registry ? [this.registry] : []),
      ...(this.accessories ? [this.accessories] : []),
    ];
    const sshOf = (vm: ScalewayVm): SshOutput => ({ host: vm.ipv4, port: 22, user: vm.deployUser, hostKey: vm.hostPublicKey });
    this.outputs = {
      host: {
        kind: host.kind,
        ipv4: this.vm.ipv4,
        ipv6: this.vm.ipv6 ?? null,
        deployUser: this.vm.deployUser,
        ...(this.loadBalancer ? { loadBalancerAddress: this.loadBalancer.address } : {}),
      },
      ssh: sshOf(this.vm),
      ...(several ? { servers: this.vms.map(sshOf) } : {}),
      // Every VM's: they share the first one's deploy key.
      sshPrivateKey: this.vm.deployPrivateKey,
    };
  }
}
