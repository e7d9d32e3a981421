import * as pulumi from "@pulumi/pulumi";
import * as scaleway from "@pulumiverse/scaleway";

/**
 * How the Load Balancer health-checks each VM's edge: every 3 s, 1 s to answer, down after 3
 * failures (Scaleway's console defaults; the provider's, 60 s / 30 s / 2, would keep a dead VM
 * in rotation for a minute or more). The e2e stand-in (HAProxy `inter 3s`, `timeout check 1s`,
 * `fall 3`) mirrors these: change both together.
 */
export const LB_HEALTH_CHECK = { delay: "3s", timeout: "1s", maxRetries: 3, transientDelay: "0.5s" } as const;

/** The port the VMs' edges serve HTTP on, where the Load Balancer forwards (TLS ends at the Load Balancer). */
export const LB_FORWARD_PORT = 80;

export interface ScalewayLoadBalancerArgs {
  /** Environment (stack) name, used for names and tags. */
  readonly environment: string;
  /** Zone of the Load Balancer and its IP: the VMs' (`fr-par-1`). */
  readonly zone: string;
  /** Commercial type (`host.loadBalancerType`), such as `LB-S`. */
  readonly type: string;
  /** The Private Network the VMs are on: the Load Balancer joins it to reach them. */
  readonly privateNetworkId: pulumi.Input<string>;
  /** The VMs' addresses on the Private Network (their edges serve HTTP on port 80 there). */
  readonly serverIps: readonly pulumi.Input<string>[];
  /** What the health check asks each edge: GET `path` with `hostHeader` as Host, expecting 200. */
  readonly healthCheck: { readonly path: string; readonly hostHeader: string };
  /** The environment's hostnames: the first is the certificate's common name, the others its alternative names. */
  readonly hostnames: readonly string[];
  /** Serve HTTPS on 443 with a Let's Encrypt certificate, and redirect port 80 there. Default false: HTTP on 80 only. */
  readonly tls?: boolean;
  /**
   * Declares the DNS records pointing the hostnames at the Load Balancer's address and returns them:
   * the certificate waits for them, as Let's Encrypt checks that each name resolves to the Load Balancer.
   */
  readonly records: (address: pulumi.Output<string>) => readonly pulumi.Resource[];
  /** What the backend waits for (the VMs' private NICs, through which their addresses answer). Default none. */
  readonly dependsOn?: readonly pulumi.Resource[];
}

/**
 * A Scaleway Load Balancer in front of the VMs: a flexible IP (kept across replacements, what the
 * DNS records point at), the Load Balancer on the VMs' Private Network, one HTTP backend to their
 * edges on port 80, health-checked; with TLS, a Let's Encrypt certificate served on 443 and an
 * ACL on 80 redirecting every request to HTTPS. TLS ends here: the VMs' edges serve HTTP only.
 */
export class ScalewayLoadBalancer extends pulumi.ComponentResource {
  /** The public IPv4 address clients reach (the DNS records' value). */
  public readonly address: pulumi.Output<string>;
  public readonly loadBalancer: scaleway.loadbalancers.LoadBalancer;
  public readonly backend: scaleway.loadbalancers.Backend;
  /** The frontend on port 80: it redirects to HTTPS when TLS is on. */
  public readonly httpFrontend: scaleway.loadbalancers.Frontend;
  /** The frontend on port 443, with the certificate (TLS only). */
  public readonly httpsFrontend?: scaleway.loadbalancers.Frontend;
  /** The Let's Encrypt certificate (TLS only). Its `status` should read `ready`: a failed issuance is only a warning of the provider. */
  public readonly certificate?: scaleway.loadbalancers.Certificate;

  constructor(name: string, args: ScalewayLoadBalancerArgs, opts?: pulumi.ComponentResourceOptions) {
    super("permacoop:index:ScalewayLoadBalancer", name, {}, opts);
    const [commonName, ...alternativeNames] = args.hostnames;
    if (commonName === undefined) throw new Error(`${name}: expected at least one hostname`);
    if (args.serverIps.length === 0) throw new Error(`${name}: expected at least one server address`);
    const tags = ["permacoop", `env:${args.environment}`];

    const ip = new scaleway.loadbalancers.Ip(`${name}-ip`, { zone: args.zone, tags }, { parent: this });
    this.address = ip.ipAddress;
    this.loadBalancer = new scaleway.loadbalancers.LoadBalancer(
      `${name}-lb`,
      {
        name: `${args.environment}-lb`,
        zone: args.zone,
        type: args.type,
        ipIds: [ip.id],
        privateNetworks: [{ privateNetworkId: args.privateNetworkId }],
        tags,
      },
      { parent: this },
    );
    this.backend = new scaleway.loadbalancers.Backend(
      `${name}-backend`,
      {
        name: `${args.environment}-edges`,
        lbId: this.loadBalancer.id,
        forwardProtocol: "http",
        forwardPort: LB_FORWARD_PORT,
        // Sorted: the provider keeps the list's order, and a reordered pool would show as a change.
        serverIps: pulumi.all([...args.serverIps]).apply((ips) => [...ips].sort()),
        healthCheckHttp: { uri: args.healthCheck.path, method: "GET", code: 200, hostHeader: args.healthCheck.hostHeader },
        healthCheckPort: LB_FORWARD_PORT,
        healthCheckDelay: LB_HEALTH_CHECK.delay,
        healthCheckTimeout: LB_HEALTH_CHECK.timeout,
        healthCheckMaxRetries: LB_HEALTH_CHECK.maxRetries,
        healthCheckTransientDelay: LB_HEALTH_CHECK.transientDelay,
        onMarkedDownAction: "shutdown_sessions",
        // A connection refused by a VM is retried on another one.
        redispatchAttemptCount: 1,
      },
      { parent: this, dependsOn: [...(args.dependsOn ?? [])] },
    );

    const records = args.records(this.address);
    if (args.tls) {
      // Let's Encrypt validates through the Load Balancer: the names must resolve to it first.
      // Replaced create-before-delete (Pulumi's default): a certificate in use cannot be deleted.
      this.certificate = new scaleway.loadbalancers.Certificate(
        `${name}-certificate`,
        {
          name: `${args.environment}-certificate`,
          lbId: this.loadBalancer.id,
          letsencrypt: { commonName, ...(alternativeNames.length > 0 ? { subjectAlternativeNames: alternativeNames } : {}) },
        },
        { parent: this, dependsOn: [...records] },
      );
      this.httpsFrontend = new scaleway.loadbalancers.Frontend(
        `${name}-https`,
        { name: `${args.environment}-https`, lbId: this.loadBalancer.id, backendId: this.backend.id, inboundPort: 443, certificateIds: [this.certificate.id] },
        { parent: this },
      );
    }
    // Port 80 stays on the HTTP backend even with TLS: Let's Encrypt's challenge arrives there.
    this.httpFrontend = new scaleway.loadbalancers.Frontend(
      `${name}-http`,
      {
        name: `${args.environment}-http`,
        lbId: this.loadBalancer.id,
        backendId: this.backend.id,
        inboundPort: 80,
        ...(args.tls
          ? {
              acls: [
                {
                  name: "to-https",
                  description: "Every request to HTTPS",
                  action: { type: "redirect", redirects: [{ type: "scheme", target: "https", code: 301 }] },
                  match: { ipSubnets: ["0.0.0.0/0", "::/0"] },
                },
              ],
            }
          : {}),
      },
      { parent: this },
    );
    this.registerOutputs({ address: this.address, certificateStatus: this.certificate?.status });
  }
}
