import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";

/** One step run on a host: the command lines and what they read on stdin. */
export interface HostCommand {
  readonly create: pulumi.Input<string>;
  readonly update?: pulumi.Input<string>;
  readonly delete?: pulumi.Input<string>;
  /** Fed to the command's standard input (secrets travel here, never in argv). */
  readonly stdin?: pulumi.Input<string>;
  /** Re-run (replace) when any of these change. */
  readonly triggers?: pulumi.Input<unknown[]>;
}

/** A step's resource, with what its command printed (a secret where the step says so). */
export type HostStep = pulumi.CustomResource & { readonly stdout: pulumi.Output<string> };

/** Runs host commands as `@pulumi/command` resources: on this machine, or over SSH. */
export interface HostRunner {
  run(name: string, spec: HostCommand, opts: pulumi.CustomResourceOptions): HostStep;
}

/** This machine: commands run under bash. */
export class LocalRunner implements HostRunner {
  run(name: string, spec: HostCommand, opts: pulumi.CustomResourceOptions): command.local.Command {
    return new command.local.Command(name, { ...spec, interpreter: ["/bin/bash", "-c"], addPreviousOutputInEnv: false }, opts);
  }
}

/** The SSH connection to a host: built here only, so the private key is always a secret. */
export interface SshConnectionArgs {
  readonly host: pulumi.Input<string>;
  readonly port: number;
  readonly user: string;
  /** OpenSSH private key (a Pulumi secret). */
  readonly privateKey: pulumi.Input<string>;
  /** The host's public key, pinned: a server presenting another key is refused. */
  readonly hostKey: pulumi.Input<string>;
  /**
   * Failed dials retried before giving up. pulumi-command retries every one, a refused handshake
   * (a host key that is not the pinned one) included, with a backoff growing to 5 s: 10 (its own
   * default) gives up after about 11 s; a VM still booting asks for more. Default 10.
   */
  readonly dialErrorLimit?: number;
}

/** The one place a `remote` connection is assembled. */
export function sshConnection(args: SshConnectionArgs): pulumi.Output<command.types.input.remote.ConnectionArgs> {
  return pulumi.secret(
    pulumi.all([args.host, args.privateKey, args.hostKey]).apply(([host, privateKey, hostKey]) => ({
      host,
      port: args.port,
      user: args.user,
      privateKey,
      hostKey,
      dialErrorLimit: args.dialErrorLimit ?? 10,
      perDialTimeout: 10,
    })),
  );
}

/** A server reached over SSH: commands run by the login shell of the deploy user. */
export class SshRunner implements HostRunner {
  constructor(private readonly connection: pulumi.Input<command.types.input.remote.ConnectionArgs>) {}

  run(name: string, spec: HostCommand, opts: pulumi.CustomResourceOptions): command.remote.Command {
    return new command.remote.Command(name, { ...spec, connection: this.connection, addPreviousOutputInEnv: false }, opts);
  }
}
