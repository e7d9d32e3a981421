import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { sshConnection } from "../runtime/runner";
import { CLOUD_INIT_DONE_MARKER, renderCloudInit } from "./cloudInit";
import { ed25519KeyPair, OpenSshKeyPair } from "./sshKeys";

export interface FirstBootArgs {
  /** Environment (stack) name. */
  readonly environment: string;
  /** The VM's host name. Default `<environment>-host`. */
  readonly hostname?: string;
  /** The user rollouts connect as. */
  readonly deployUser: string;
  /** Operators' public keys, besides the generated deploy key. */
  readonly sshPublicKeys: readonly string[];
  /** The deploy user's key pair (secret), shared with another VM of the environment. Default one of its own, generated here. */
  readonly deployKey?: pulumi.Output<OpenSshKeyPair>;
}

/**
 * A VM's first boot as the program prepares it, whatever runs the VM (Scaleway, or this machine
 * for `local-vm`): the keys generated here and kept (secret) in the state, the host key pinned
 * before the VM boots, the cloud-init user data, the SSH connection and the wait for cloud-init.
 */
export class FirstBoot {
  /** The `#cloud-config` user data (secret: it holds the host's private key). */
  public readonly userData: pulumi.Output<string>;
  /** The VM's SSH host public key, pinned: ops put it in known_hosts. */
  public readonly hostPublicKey: pulumi.Output<string>;
  /** Private key of the deploy user (secret), for `npm run ops|backup|drift`. */
  public readonly deployPrivateKey: pulumi.Output<string>;
  /** The deploy user's key pair (secret). */
  public readonly deployKey: pulumi.Output<OpenSshKeyPair>;
  private readonly hostKey: pulumi.Output<OpenSshKeyPair>;

  constructor(
    private readonly name: string,
    private readonly args: FirstBootArgs,
    private readonly parent: pulumi.Resource,
  ) {
    const hostname = args.hostname ?? `${args.environment}-host`;
    // A seed in the state makes the key: the same key on every run, a new one only on purpose.
    const keyPair = (seedName: string, comment: string): pulumi.Output<OpenSshKeyPair> =>
      pulumi.secret(
        new random.RandomBytes(`${name}-${seedName}`, { length: 32 }, { parent }).base64.apply((seed) => ed25519KeyPair(Buffer.from(seed, "base64"), comment)),
      );
    this.hostKey = keyPair("host-key", hostname);
    this.deployKey = args.deployKey ?? keyPair("deploy-key", `${args.deployUser}@${hostname} (pulumi)`);
    this.userData = pulumi.secret(
      pulumi
        .all([this.hostKey, this.deployKey])
        .apply(([hostKeyPair, deployKeyPair]) =>
          renderCloudInit({ deployUser: args.deployUser, sshPublicKeys: [...args.sshPublicKeys, deployKeyPair.publicKey], hostname, hostKey: hostKeyPair }),
        ),
    );
    // A public key is no secret; unwrapping it lets ops see it in `pulumi stack output`.
    this.hostPublicKey = pulumi.unsecret(this.hostKey.publicKey);
    this.deployPrivateKey = pulumi.secret(this.deployKey.privateKey);
  }

  /** The deploy user's SSH connection to `host`, with the generated host key pinned (secret). */
  connection(host: pulumi.Input<string>, dialErrorLimit: number): pulumi.Output<command.types.input.remote.ConnectionArgs> {
    return sshConnection({
      host,
      port: 22,
      user: this.args.deployUser,
      privateKey: this.deployKey.privateKey,
      hostKey: this.hostKey.publicKey,
      dialErrorLimit,
    });
  }

  /** Done once cloud-init has finished on the machine `machineId` (Docker installed, the deploy user there); again on a new machine. */
  waitForCloudInit(
    connection: pulumi.Input<command.types.input.remote.ConnectionArgs>,
    machineId: pulumi.Input<string>,
    dependsOn: pulumi.Resource[],
  ): command.remote.Command {
    return new command.remote.Command(
      `${this.name}-cloud-init`,
      {
        connection,
        // cloud-init installs Docker and upgrades packages: allow 15 minutes, then say why.
        create: `for _ in $(seq 1 180); do test -f ${CLOUD_INIT_DONE_MARKER} && exit 0; sleep 5; done; echo "cloud-init did not finish within 15 minutes: see /var/log/cloud-init-output.log on the VM" >&2; exit 1`,
        triggers: [machineId],
        addPreviousOutputInEnv: false,
      },
      { parent: this.parent, dependsOn },
    );
  }
}
