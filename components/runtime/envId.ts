import * as pulumi from "@pulumi/pulumi";
import { envIdProbe, OWNER_VARIABLE } from "./contract";
import { HostRunner } from "./runner";
import { shellQuote } from "./shell";

/**
 * A host command carrying the id of the stack that runs it: the host refuses a step of another
 * stack with the same name (two clones, two projects), and a destroy leaves that one's things.
 */
export function asStack(owner: pulumi.Input<string> | undefined, command: pulumi.Input<string>): pulumi.Input<string> {
  return owner === undefined ? command : pulumi.all([owner, command]).apply(([id, line]) => `export ${OWNER_VARIABLE}=${shellQuote(id)}; ${line}`);
}

/**
 * A host command naming the machine it runs on, and the stack: a new machine (a replaced VM)
 * changes every command, so each runs again there as an update; nothing is replaced, so no old
 * `delete` ever runs on the new machine.
 */
export function onMachineAs(
  machineId: pulumi.Input<string> | undefined,
  owner: pulumi.Input<string> | undefined,
  command: pulumi.Input<string>,
): pulumi.Input<string> {
  const line = asStack(owner, command);
  return machineId === undefined ? line : pulumi.all([machineId, line]).apply(([machine, text]) => `: machine ${shellQuote(machine)}; ${text}`);
}

export interface MachineEnvIdArgs {
  /** Environment (stack) name. */
  readonly environment: string;
  /** The stack's id (kept in its state). */
  readonly owner: pulumi.Input<string>;
  /** Where the probe runs. */
  readonly runner: HostRunner;
  /** The machine's identity when it can be replaced under the same address: a new one is probed again. */
  readonly machineId?: pulumi.Input<string>;
  /** What must exist before the probe can run there (a VM's first boot). */
  readonly dependsOn?: pulumi.Input<pulumi.Resource>[];
  /** The names the probe may have had before (a server alone, then one of several, or back): kept, not probed again. Default none. */
  readonly formerNames?: readonly string[];
}

/**
 * The id the environment's names derive from on one machine (envIdProbe), probed there once,
 * before anything else, and kept in the state: the same for the stack's life on that machine.
 */
export function machineEnvId(name: string, args: MachineEnvIdArgs, parent: pulumi.Resource): pulumi.Output<string> {
  const probe = pulumi.output(args.owner).apply((owner) => envIdProbe(args.environment, owner));
  const step = args.runner.run(
    `${name}-env-id`,
    { create: onMachineAs(args.machineId, args.owner, probe) },
    { parent, dependsOn: args.dependsOn, ...(args.formerNames?.length ? { aliases: args.formerNames.map((former) => ({ name: `${former}-env-id` })) } : {}) },
  );
  return step.stdout.apply((out) => {
    const id = out.trim();
    // The probe prints one of two names; anything else is a broken host shell, not a name to use.
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(id)) throw new Error(`${name}: the host's id probe printed ${JSON.stringify(out.slice(0, 80))}, not a name`);
    return id;
  });
}
