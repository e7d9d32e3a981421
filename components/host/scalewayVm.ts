import * as pulumi from "@pulumi/pulumi";
import * as scaleway from "@pulumiverse/scaleway";
import { ScalewayVmHostConfig } from "../config/schema";
import { renderCloudInit } from "./cloudInit";

/** Ports every public host serves to the world. */
export const PUBLIC_PORTS = [80, 443] as const;
const SSH_PORT = 22;

export interface ScalewayVmHostArgs {
  /** The validated `permacoop:host` config. */
  readonly host: ScalewayVmHostConfig;
  /** Environment (stack) name, used for names and tags. */
  readonly environment: string;
}

/** One inbound rule of the host's security group. */
export interface InboundRule {
  readonly action: "accept";
  readonly protocol: "TCP";
  readonly port: number;
  readonly ipRange: string;
}

/** Inbound rules of the host: 80/443 from anywhere, 22 from the admin networks only; everything else dropped. */
export function inboundRules(adminCidrs: readonly string[]): InboundRule[] {
  const world = ["0.0.0.0/0", "::/0"];
  return [
    ...PUBLIC_PORTS.flatMap((port) => world.map((ipRange) => ({ action: "accept" as const, protocol: "TCP" as const, port, ipRange }))),
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
export class ScalewayVmHost extends pulumi.ComponentResource {
  /** Public IPv4 address. */
  public readonly ipv4: pulumi.Output<string>;
  /** Public IPv6 address, when `host.ipv6` is on. */
  public readonly ipv6?: pulumi.Output<string>;
  /** The user rollouts connect as. */
  public readonly deployUser: string;
  public readonly server: scaleway.instance.Server;
  public readonly securityGroup: scaleway.instance.SecurityGroup;

  constructor(name: string, args: ScalewayVmHostArgs, opts?: pulumi.ComponentResourceOptions) {
    super("permacoop:index:ScalewayVmHost", name, {}, opts);
    const { host, environment } = args;
    const tags = ["permacoop", `env:${environment}`];

    const ip = new scaleway.instance.Ip(`${name}-ipv4`, { type: "routed_ipv4", zone: host.zone, tags }, { parent: this });
    const ip6 = host.ipv6 ? new scaleway.instance.Ip(`${name}-ipv6`, { type: "routed_ipv6", zone: host.zone, tags }, { parent: this }) : undefined;

    this.securityGroup = new scaleway.instance.SecurityGroup(
      `${name}-sg`,
      {
        name: `${environment}-host`,
        zone: host.zone,
        stateful: true,
        inboundDefaultPolicy: "drop",
        outboundDefaultPolicy: "accept",
        inboundRules: inboundRules(host.adminCidrs),
        tags,
      },
      { parent: this },
    );

    const cloudInit = renderCloudInit({ deployUser: host.deployUser, sshPublicKeys: host.sshPublicKeys, hostname: `${environment}-host` });
    this.server = new scaleway.instance.Server(
      `${name}-server`,
      {
        name: `${environment}-host`,
        zone: host.zone,
        type: host.type,
        image: host.image,
        rootVolume: { sizeInGb: host.rootVolumeGb, deleteOnTermination: true },
        ipIds: ip6 ? [ip.id, ip6.id] : [ip.id],
        securityGroupId: this.securityGroup.id,
        userData: { "cloud-init": cloudInit },
        tags,
      },
      // The flexible IP can be attached to one server at a time: delete the old one first.
      { parent: this, replaceOnChanges: ["userData"], deleteBeforeReplace: true },
    );

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
    this.registerOutputs({ ipv4: this.ipv4, ipv6: this.ipv6, serverId: this.server.id });
  }
}
