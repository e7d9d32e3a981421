import * as pulumi from "@pulumi/pulumi";
import * as scaleway from "@pulumiverse/scaleway";

export interface PrivateNetworkArgs {
  /** Environment (stack) name, used for names and tags. */
  readonly environment: string;
  /** Region of the network (Private Networks are regional). */
  readonly region: string;
}

/**
 * A Private Network, alone in a VPC of its own (nothing else to route to or from): what the
 * serverless containers and the managed database talk over, so the database needs no public endpoint.
 */
export class PrivateNetwork extends pulumi.ComponentResource {
  /** Private Network ID. */
  public readonly id: pulumi.Output<string>;

  constructor(name: string, args: PrivateNetworkArgs, opts?: pulumi.ComponentResourceOptions) {
    super("permacoop:index:PrivateNetwork", name, {}, opts);
    const tags = ["permacoop", `env:${args.environment}`];
    const vpc = new scaleway.network.Vpc(`${name}-vpc`, { name: `${args.environment}-vpc`, region: args.region, tags }, { parent: this });
    const network = new scaleway.network.PrivateNetwork(
      `${name}-pn`,
      { name: `${args.environment}-pn`, region: args.region, vpcId: vpc.id, tags },
      { parent: this },
    );
    this.id = network.id;
    this.registerOutputs({ id: this.id });
  }
}
