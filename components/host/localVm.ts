import { createHash } from "node:crypto";
import { join } from "node:path";
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { StackConfigOf } from "../config/schema";
import { ContainerDatabase } from "../database/container";
import { hostContract } from "../runtime/contract";
import { SshRunner } from "../runtime/runner";
import { Publish } from "../runtime/runtime";
import { shellQuote } from "../runtime/shell";
import { FirstBoot } from "./firstBoot";
import { EnvironmentHost, HostArgs, HostDatabase, HostOutputs, Machine, PUBLIC_EDGE } from "./host";

/** The script that provisions and boots VMs on this machine (its addresses are 10.231.<slot>.2). */
const VM_HOSTS = join(__dirname, "..", "..", "tools", "vm-hosts.sh");

/** The address of the VM in `slot`, as tools/vm-hosts.sh gives it. */
export function localVmAddress(slot: number): string {
  return `10.231.${slot}.2`;
}

/** The VM's name for tools/vm-hosts.sh ([a-z][a-z0-9]{0,15}), from the environment's name. */
export function localVmName(environment: string): string {
  return `vm${environment.toLowerCase().replace(/[^a-z0-9]/g, "")}`.slice(0, 16);
}

/**
 * Host kind `local-vm`: prod's VM path on this machine. The same first boot as a Scaleway VM
 * (generated keys, the host key pinned, the same cloud-init user data) is run by the real
 * cloud-init on a Debian root (tools/vm-hosts.sh); the runtime then reaches it over SSH exactly
 * as on Scaleway. Only the Scaleway API is left out. The VM has no way out to a registry: the
 * images it runs are copied from this machine's engine once it is up. A change of the user data
 * replaces the VM, as on Scaleway, and the steps run again there.
 */
export class LocalVmHost implements EnvironmentHost {
  public readonly machines: readonly Machine[];
  public readonly publish: Publish = PUBLIC_EDGE;
  public readonly database: HostDatabase;
  public readonly resources: readonly pulumi.Resource[];
  public readonly outputs: HostOutputs;
  /** The VM (its id changes when it is replaced). */
  public readonly vm: command.local.Command;

  constructor(name: string, args: HostArgs<StackConfigOf<"local-vm">>) {
    const { config, parent, environment } = args;
    const { host, database } = config;
    if (process.platform !== "linux" || process.getuid?.() !== 0) {
      throw new Error(
        `host.kind "local-vm" runs a VM on this machine: it needs Linux and root (network namespaces, debootstrap, a chroot). Run as root, or use host.kind "local".`,
      );
    }
    const vmName = localVmName(environment);
    const script = shellQuote(VM_HOSTS);
    const firstBoot = new FirstBoot(`${name}-host`, { environment, deployUser: host.deployUser, sshPublicKeys: host.sshPublicKeys }, parent);
    this.vm = new command.local.Command(
      `${name}-host-vm`,
      {
        // The user data holds the host's private key: on stdin, into a file only root reads (mktemp: 0600).
        create: `set -eu; f=$(mktemp); trap 'rm -f "$f"' EXIT; cat >"$f"; bash ${script} up ${vmName} ${host.slot} "$f" >/dev/null`,
        delete: `bash ${script} down ${vmName}`,
        stdin: firstBoot.userData,
        // New user data, a new VM (as a Scaleway server is replaced); the hash reveals nothing.
        triggers: [pulumi.unsecret(firstBoot.userData.apply((userData) => createHash("sha256").update(userData).digest("hex")))],
        interpreter: ["/bin/bash", "-c"],
        addPreviousOutputInEnv: false,
      },
      // One VM per slot at a time: the old one goes before its replacement boots.
      { parent, deleteBeforeReplace: true, additionalSecretOutputs: ["stdout", "stderr"] },
    );
    const address = localVmAddress(host.slot);
    const connection = firstBoot.connection(address, 10);
    const ready = firstBoot.waitForCloudInit(connection, this.vm.id, [this.vm]);
    const runtimeImages = [config.proxy.image, config.proxy.switchImage, database.image, ...(config.tls.enabled ? [config.tls.certbotImage] : [])];
    this.machines = [
      {
        runner: new SshRunner(connection),
        ready: [ready],
        identity: this.vm.id,
        // The explicit step by which images reach the VM: copied from this machine's engine.
        prepare: (serviceImages) => {
          const images = pulumi.all([...serviceImages]).apply((refs) => [...new Set([...runtimeImages, ...refs])].sort());
          return [
            new command.local.Command(
              `${name}-host-images`,
              {
                create: images.apply((list) => `bash ${script} load ${vmName} ${list.map(shellQuote).join(" ")}`),
                triggers: [this.vm.id],
                interpreter: ["/bin/bash", "-c"],
                addPreviousOutputInEnv: false,
              },
              { parent, dependsOn: [ready] },
            ),
          ];
        },
      },
    ];
    const db = new ContainerDatabase(`${name}-db`, { database, host: args.envId.apply((id) => hostContract(environment, id).dbContainer) }, { parent });
    this.database = { env: db.env, containerPassword: db.password };
    this.resources = [this.vm, db];
    this.outputs = {
      host: { kind: host.kind, ipv4: address, deployUser: host.deployUser },
      ssh: { host: address, port: 22, user: host.deployUser, hostKey: firstBoot.hostPublicKey },
      sshPrivateKey: firstBoot.deployPrivateKey,
    };
  }
}
