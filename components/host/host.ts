/**
 * The one interface every host kind implements for `Environment` (one class per kind, each in its
 * own file: local.ts, ssh.ts, scalewayVm.ts, scalewayContainers.ts). A kind declares its machines,
 * its database and its DNS; Environment puts the same runtime on every machine.
 */
import * as pulumi from "@pulumi/pulumi";
import { HostConfig, StackConfig } from "../config/schema";
import { DatabaseEnv } from "../database/managed";
import { DnsRecords, DnsRecordSpec } from "../dns/records";
import { HostRunner } from "../runtime/runner";
import { Publish } from "../runtime/runtime";
import type { RegistryLogin } from "../registry/images";

/** A machine that runs the environment's Docker runtime. */
export interface Machine {
  /** Where its commands run: this machine, or a server over SSH. */
  readonly runner: HostRunner;
  /** How errors and `npm run ops -- --host` name it among several (its address). Default none (the one machine). */
  readonly label?: string;
  /** The address the other machines reach it on (its edge), when it has one of its own. Default none. */
  readonly address?: string;
  /** Its stable part of the runtime's names among several (a listed server's address): none, its position. */
  readonly key?: string;
  /** What must be done before anything runs there (a VM's first boot). */
  readonly ready: readonly pulumi.Resource[];
  /** Its identity when it can be replaced under the same address (a VM's server id): a new one redeploys everything. */
  readonly identity?: pulumi.Input<string>;
  /** What the machine needs before the runtime, given the services' images (a VM on this machine: copy them in). */
  prepare?(serviceImages: readonly pulumi.Input<string>[]): pulumi.Resource[];
  /** Registry logins the machine needs besides the stack's `registries` (a Scaleway VM: its own namespace's read-only key). */
  readonly registryLogins?: readonly RegistryLogin[];
}

/** Images the host kind built and pushed itself, by digest, and the pushes a rollout waits for. */
export interface BuiltImages {
  readonly refs: Readonly<Record<string, pulumi.Output<string>>>;
  readonly resources: readonly pulumi.Resource[];
}

/** The database the services use. */
export interface HostDatabase {
  /** DATABASE_* for the services (secret). */
  readonly env: pulumi.Output<DatabaseEnv>;
  /** POSTGRES_PASSWORD of a PostgreSQL container the runtime runs; none for a managed database. */
  readonly containerPassword?: pulumi.Output<string>;
}

/** SSH coordinates of a machine with its pinned host key: what `npm run ops|backup|drift` use. */
export interface SshOutput {
  readonly host: pulumi.Input<string>;
  readonly port: number;
  readonly user: string;
  readonly hostKey: pulumi.Input<string>;
}

/** What the stack exports about its host. */
export interface HostOutputs {
  /** The host: its kind, and for a VM its addresses and deploy user. */
  readonly host: Record<string, pulumi.Input<unknown>>;
  readonly ssh?: SshOutput;
  /** Each host's SSH coordinates, in the configuration's order, when there are several (`npm run ops -- --host`). */
  readonly servers?: readonly SshOutput[];
  /** The deploy user's private key (secret), when the program generated it. */
  readonly sshPrivateKey?: pulumi.Output<string>;
  /** Image each service runs, by digest: what another stack's `services[].fromStack` ships. */
  readonly images?: pulumi.Output<Record<string, string>>;
}

export interface HostArgs<C extends StackConfig = StackConfig> {
  /** Environment (stack) name. */
  readonly environment: string;
  /** What the environment's names on its machine derive from (the contract's `id`; resolved once the machine is declared). */
  readonly envId: pulumi.Output<string>;
  readonly config: C;
  /** Secret config values by key name. */
  readonly secrets: Readonly<Record<string, pulumi.Input<string>>>;
  /** Whether the data refuses `pulumi destroy`. */
  readonly protectData: boolean;
  /** The environment the kind declares its resources into (names derive from its name). */
  readonly parent: pulumi.Resource;
  /** Pulled images resolved to their digest, by service name (a platform that pulls them itself uses these). Default none. */
  readonly resolvedImages?: Readonly<Record<string, string>>;
}

/** A host kind as Environment uses it. */
export interface EnvironmentHost {
  /** The machines that run the Docker runtime; none when the platform runs the containers. */
  readonly machines: readonly Machine[];
  /** Where the edge publishes on each machine (the URL's ports). */
  readonly publish: Publish;
  /** The host kind's load balancer terminates TLS: the machines' edges serve HTTP only (no certificate there). Default false. */
  readonly terminatesTls?: boolean;
  readonly database: HostDatabase;
  /** The variables of the accessories the platform runs (Scaleway hosts: Object Storage, Managed Redis), secret. Default none. */
  readonly accessoryEnv?: pulumi.Output<Record<string, string>>;
  readonly dns?: DnsRecords;
  /** The services' built images, when the host kind builds and pushes them itself (a Scaleway VM without `buildRegistry`). */
  readonly builtImages?: BuiltImages;
  /** Every resource the kind declared: a protected destroy refuses before touching any. */
  readonly resources: readonly pulumi.Resource[];
  readonly outputs: HostOutputs;
}

/** The public edge of a server: all addresses, the standard ports. */
export const PUBLIC_EDGE: Publish = { bindAddress: "0.0.0.0", httpPort: 80, httpsPort: 443 };

/** Records an operator must create when DNS is managed elsewhere (empty when managed here or none). */
export function recordsToCreate(dns: DnsRecords | undefined): pulumi.Output<DnsRecordSpec[]> {
  if (!dns || dns.records.length > 0) return pulumi.output([]);
  return dns.required;
}

export type HostKind = HostConfig["kind"];
