/**
 * The host contract: everything an environment owns on a Docker host — container, volume and
 * network names, labels, paths under the deploy user's home, crontab tags — and the names of the
 * resources that act on it. The renderers, the day-2 commands (cli/) and the tests take them from
 * here (as Kamal's `Configuration` does), so a rename is one edit.
 */
import { registryLoginHost } from "../config/schema";
import { shellQuote } from "./shell";

/** Root of every environment's files on a host, relative to the deploy user's home. */
export const HOST_ROOT = ".permacoop";

/** Container labels the runtime and the rollouts set and read. */
export const LABELS = {
  /** The environment a container, network or volume belongs to. */
  env: "permacoop.env",
  /** The service an app container runs. */
  service: "permacoop.service",
  /** What a container was started with: a change recreates it, `verify` checks it. */
  spec: "permacoop.spec",
  /** The image reference an app container was started from (audit log, rollback). */
  image: "permacoop.image",
  /** The scheduled job a one-off container runs. */
  job: "permacoop.job",
  /** The accessory a container runs. */
  accessory: "permacoop.accessory",
} as const;

/** A job's schedule in the crontab is `<crontabTag><JOB_SCHEDULE_PREFIX><job>`; its log `<state>/<JOB_SCHEDULE_PREFIX><job>.log`. */
export const JOB_SCHEDULE_PREFIX = "job-";

/** Names and paths of one environment on its host. */
export interface HostContract {
  /** The stack's name: what messages and backup files say. */
  readonly environment: string;
  /**
   * The environment's id on the host, what its names derive from: `<stack>-<first 8 hex of the
   * stack's id>`, so that two clones or projects with a stack of one name never share a container,
   * a volume or a directory; the stack's name alone for an environment deployed before (adopted
   * in place). See envIdProbe.
   */
  readonly id: string;
  /** Prefix of every container, volume and network name. */
  readonly prefix: string;
  /** `permacoop.env=<id>`: what `docker … --filter label=` selects. */
  readonly envLabel: string;
  readonly network: string;
  readonly edgeContainer: string;
  /** The switch (HAProxy): where traffic moves between versions. */
  readonly switchContainer: string;
  /** The nginx switch of environments deployed before the HAProxy one: `up` moves the edge off it, then removes it. */
  readonly legacySwitchContainer: string;
  readonly dbContainer: string;
  readonly dbVolume: string;
  /** Prefix of the one-off containers of jobs and `npm run ops -- run` (not strays while they run). */
  readonly jobContainerPrefix: string;
  /** The proxies' volumes: configurations, ACME challenges, certificates. */
  readonly volumes: { readonly switchConf: string; readonly edgeConf: string; readonly acme: string; readonly certs: string };
  /** Tags the environment's lines in the deploy user's crontab (`<tag><schedule name>`). */
  readonly crontabTag: string;
  /** Paths relative to the deploy user's home. */
  readonly paths: {
    /** Shared by every environment of the host (the crontab lock). */
    readonly root: string;
    /** The environment's directory. */
    readonly state: string;
    /** Installed host scripts, one file per content hash. */
    readonly scripts: string;
    /** The current runtime script (a link into `scripts`): schedules and the day-2 commands run it. */
    readonly runtime: string;
    readonly backups: string;
    /** One record per service of what its last rollout left (what `verify` compares with). */
    readonly deployments: string;
    /** One line per rollout: who, when, from which image to which, how it ended. */
    readonly auditLog: string;
    /** The rollouts' locks, one file per service. */
    readonly locks: string;
    /** One file per service: the image ids whose release command succeeded (it runs once per version). */
    readonly releases: string;
    /** The id of the stack that deployed the environment here: another stack of the same name is refused. */
    readonly owner: string;
    /** Left by a destroy that kept the database volume: the next stack of this name to deploy here adopts it (envIdProbe). */
    readonly dataKept: string;
  };
}

/** The contract of `environment` (a stack name) on a host where its names derive from `id` (envIdProbe). */
export function hostContract(environment: string, id: string = environment): HostContract {
  const prefix = `pc-${id}`;
  const state = `${HOST_ROOT}/${id}`;
  return {
    environment,
    id,
    prefix,
    envLabel: `${LABELS.env}=${id}`,
    crontabTag: `# permacoop:${id}:`,
    network: prefix,
    edgeContainer: `${prefix}-edge`,
    switchContainer: `${prefix}-switch-haproxy`,
    legacySwitchContainer: `${prefix}-switch`,
    dbContainer: `${prefix}-db`,
    dbVolume: `${prefix}-pgdata`,
    jobContainerPrefix: `${prefix}-job-`,
    volumes: { switchConf: `${prefix}-switch-conf`, edgeConf: `${prefix}-edge-conf`, acme: `${prefix}-acme`, certs: `${prefix}-certs` },
    paths: {
      root: HOST_ROOT,
      state,
      scripts: `${state}/scripts`,
      runtime: `${state}/runtime.sh`,
      backups: `${state}/backups`,
      deployments: `${state}/services`,
      auditLog: `${state}/audit.log`,
      locks: `${state}/locks`,
      releases: `${state}/releases`,
      owner: `${state}/owner`,
      dataKept: `${state}/data-kept`,
    },
  };
}

/** The container and the volume of accessory `accessory` (`<prefix>-acc-<name>`: never a service's `<prefix>-<service>-…`). */
export function accessoryNames(contract: HostContract, accessory: string): { readonly container: string; readonly volume: string } {
  return { container: `${contract.prefix}-acc-${accessory}`, volume: `${contract.prefix}-acc-${accessory}` };
}

/** The ports accessories of each type listen on (a `generic` one says its own). */
export const ACCESSORY_PORTS = { s3: 9000, redis: 6379 } as const;
/** S3's region as MinIO answers it (the services' SDKs and the host's backups sign for it). */
export const S3_REGION = "us-east-1";
/** The access key of an `s3` accessory (MinIO's root user): the secret key is what protects it. */
export const S3_ACCESS_KEY_ID = "permacoop";

/** Where the output of job `job` is kept on the host (relative to the deploy user's home). */
export function jobLogPath(contract: HostContract, job: string): string {
  return `${contract.paths.state}/${JOB_SCHEDULE_PREFIX}${job}.log`;
}

/** The id of a new environment of stack `environment` on a host: the stack's name and its own id (`owner`, hex). */
export function newEnvId(environment: string, owner: string): string {
  return `${environment}-${owner.slice(0, 8)}`;
}

/**
 * A POSIX sh probe, run once per machine before anything else: prints the id the environment's
 * names derive from there, the first that applies:
 * - an environment of this stack's name that is this stack's (its `owner` file holds this stack's
 *   id): its new id's, the stack's name alone (deployed before names had an id: adopted in place,
 *   its data where it is), or one it adopted; so a probe run again prints the same id;
 * - the stack's name alone, when that environment predates stack ids (a runtime, a kept database,
 *   and no owner);
 * - the id of an environment of this stack's name whose destroy kept its database volume, and
 *   which no stack owns now (`npm run local:down -- --keep-data`: the next deploy finds the data);
 * - otherwise its new id.
 * An environment is adopted by claiming it here (its `owner` file, created exclusively): of two
 * stacks probing at once, one gets it and the other its own new id. `$PERMACOOP_OWNER` carries
 * the stack's id.
 */
export function envIdProbe(environment: string, owner: string): string {
  const id = newEnvId(environment, owner);
  const legacy = hostContract(environment);
  const inState = (path: string) => path.slice(legacy.paths.state.length + 1);
  const [ownerFile, keptFile, runtimeLink] = [legacy.paths.owner, legacy.paths.dataKept, legacy.paths.runtime].map(inState);
  const dir = (name: string) => `${homePath(HOST_ROOT)}/${shellQuote(name)}`;
  const ids = `${dir(environment)}-[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]`;
  return [
    `me="$${OWNER_VARIABLE}"`,
    // Exclusive: fails when the file exists, whoever wrote it.
    `claim() { mkdir -p "$1" && (set -C; printf %s "$me" >"$1/${ownerFile}") 2>/dev/null; }`,
    `for d in ${dir(id)} ${dir(environment)} ${ids}; do if [ -f "$d/${ownerFile}" ] && [ "$(cat "$d/${ownerFile}")" = "$me" ]; then echo "\${d##*/}"; exit 0; fi; done`,
    `l=${dir(environment)}`,
    `if [ ! -f "$l/${ownerFile}" ] && { [ -e "$l/${runtimeLink}" ] || [ -f "$l/${keptFile}" ] || docker volume inspect ${shellQuote(legacy.dbVolume)} >/dev/null 2>&1; } && claim "$l"; then echo ${shellQuote(environment)}; exit 0; fi`,
    `for d in ${ids}; do if [ -f "$d/${keptFile}" ] && [ ! -f "$d/${ownerFile}" ] && claim "$d"; then echo "\${d##*/}"; exit 0; fi; done`,
    `claim ${dir(id)} || true`,
    `echo ${shellQuote(id)}`,
  ].join("; ");
}

/** The environment variable that carries the deploying stack's id to the host's commands. */
export const OWNER_VARIABLE = "PERMACOOP_OWNER";
/** What the host scripts say when another stack of the same name deployed the environment (OWNER_VARIABLE, owner file). */
export const OWNER_REFUSED = "belongs to another stack of that name";

/**
 * A POSIX sh guard: the environment on this host belongs to the stack whose id is in
 * $PERMACOOP_OWNER (or to nobody yet, or the caller is a day-2 command that sets no id).
 * `onOther` runs when another stack of the same name deployed it: `exit 1` to refuse, or a
 * message and `exit 0` to leave it alone.
 */
export function ownerGuard(contract: HostContract, onOther: "refuse" | "leave"): string {
  const file = homePath(contract.paths.owner);
  const message =
    onOther === "refuse"
      ? `${contract.environment} here ${OWNER_REFUSED}: nothing changed (use another stack name)`
      : `${contract.environment} here belongs to another stack: left alone`;
  const action = onOther === "refuse" ? `echo ${shellQuote(message)} >&2; exit 1` : `echo ${shellQuote(message)}; exit 0`;
  return `o=${file}; if [ -n "\${${OWNER_VARIABLE}:-}" ] && [ -f "$o" ] && [ "$(cat "$o")" != "$${OWNER_VARIABLE}" ]; then ${action}; fi`;
}

/** Names of a service's app containers start with this (`<prefix>-<service>-<time>-<spec>`). */
export { SWITCH_PORTS, switchPort } from "./switchPort";

export function appContainerPrefix(contract: HostContract, service: string): string {
  return `${contract.prefix}-${service}-`;
}

/** A path of the contract as a shell word (`"$HOME"/'…'`): safe whatever the environment's name. */
export function homePath(relative: string): string {
  return `"$HOME"/${shellQuote(relative)}`;
}

/** Names of the runtime's command resources, derived from the runtime component's name. */
export interface StepNames {
  /** Installs the host scripts (every other step runs one of them). */
  readonly scripts: string;
  /** The database volume and its backup schedule (container database). */
  readonly data: string;
  /** Network, database container, switch and edge. */
  readonly runtime: string;
  /** The edge's configuration. */
  readonly proxy: string;
  /** The certificate (TLS on). */
  readonly certificate: string;
  /** The rollout of one service. */
  rollout(service: string): string;
  /** The login of the host's Docker to one registry (`registries[].address`). */
  registryLogin(address: string): string;
  /** One accessory: its volume (protected with the data) and its container. */
  accessory(name: string): string;
}

/** The name of an environment's runtime component (its children are named from it). */
export function runtimeComponentName(environmentComponent: string, host?: HostSlot): string {
  // One machine keeps the names it always had: an upgrade plans nothing new for it.
  if (host === undefined || host.count === 1) return `${environmentComponent}-runtime`;
  // Servers listed by hand are named by address: removing one from the list deletes its steps
  // (on it), never those of the server that moved up to its place.
  if (host.key !== undefined) return `${environmentComponent}-host-${host.key}-runtime`;
  // VMs by count grow and shrink at the end: the first keeps the one machine's names.
  return host.index === 0 ? `${environmentComponent}-runtime` : `${environmentComponent}-host${host.index + 1}-runtime`;
}

/** Which of several machines: its position in the config's order (0-based), how many there are, and its stable key when it has one. */
export interface HostSlot {
  readonly index: number;
  readonly count: number;
  /** A name that stays when the list changes (a server's address); none: the position names it. */
  readonly key?: string;
}

/**
 * The order several hosts are rolled out in, as waves: the first host alone (it runs each release
 * once, and is the canary), then `parallel` hosts at a time, each wave after the previous one.
 */
export function rolloutWaves(count: number, parallel: number): number[][] {
  if (count < 1) return [];
  const waves: number[][] = [[0]];
  for (let start = 1; start < count; start += parallel) waves.push(Array.from({ length: Math.min(parallel, count - start) }, (_, i) => start + i));
  return waves;
}

export function stepNames(runtimeComponent: string): StepNames {
  return {
    scripts: `${runtimeComponent}-scripts`,
    data: `${runtimeComponent}-data`,
    runtime: `${runtimeComponent}-runtime`,
    proxy: `${runtimeComponent}-proxy`,
    certificate: `${runtimeComponent}-certificate`,
    rollout: (service) => `${runtimeComponent}-${service}-rollout`,
    registryLogin: (address) => `${runtimeComponent}-registry-${registryLoginHost(address).replace(/[^a-z0-9]+/g, "-")}`,
    accessory: (name) => `${runtimeComponent}-accessory-${name}`,
  };
}

/** A step `npm run drift -- --repair` replays; an optional one exists only with some configurations. */
export interface RepairStep {
  readonly name: string;
  /** The data step exists with a container database only, the certificate with TLS only. */
  readonly optional: boolean;
}

/**
 * What `npm run drift -- --repair` replays, in order: the scripts first (a rebuilt host has none),
 * the registry logins, the data, the runtime, the accessories, the edge, the certificate and each service's rollout.
 * Each is idempotent on the host, and none rolls back a newer deployment.
 */
export function repairSteps(
  environment: string,
  services: readonly string[],
  registries: readonly string[] = [],
  accessories: readonly string[] = [],
  host?: HostSlot,
): RepairStep[] {
  const steps = stepNames(runtimeComponentName(environment, host));
  const required = (name: string) => ({ name, optional: false });
  return [
    required(steps.scripts),
    ...registries.map((address) => required(steps.registryLogin(address))),
    { name: steps.data, optional: true },
    required(steps.runtime),
    ...accessories.map((name) => required(steps.accessory(name))),
    required(steps.proxy),
    { name: steps.certificate, optional: true },
    ...services.map((service) => required(steps.rollout(service))),
  ];
}
