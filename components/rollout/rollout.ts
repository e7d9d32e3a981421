import { StackConfig } from "../config/schema";
import { SWITCH_ADMIN_PORT, SWITCH_CONF_DIR, SWITCH_GLOBAL_FILE, switchFileFunction } from "../proxy/haproxy";
import { DIGEST_REF } from "../registry/reference";
import { appContainerPrefix, HostContract, LABELS } from "../runtime/contract";
import { readHostSource, renderHostScript } from "../runtime/scripts";
import { shellVariables } from "../runtime/shell";

/**
 * Everything a rollout of one service knows, fixed at render time, flat: each key becomes the
 * script's variable of the same name in upper snake case. Built by `rolloutSpec` only.
 */
export interface RolloutSpec {
  readonly envName: string;
  readonly service: string;
  /** Image reference to run. */
  readonly image: string;
  /** Port the app listens on inside its container. */
  readonly port: number;
  readonly healthPath: string;
  readonly healthInterval: number;
  readonly healthTimeout: number;
  readonly healthDeadline: number;
  /** Seconds the switch waits for the service's next bytes (its route's read timeout at the edge too). */
  readonly readTimeout: number;
  /** Containers of the service behind the switch (round robin). */
  readonly replicas: number;
  /** Docker network of the environment. */
  readonly network: string;
  /** App containers are named `<containerPrefix><time>-<spec>`. */
  readonly containerPrefix: string;
  /** Container name of the switch (HAProxy). */
  readonly switch: string;
  /** In the switch's container: its service files, its global section, its admin socket. */
  readonly switchConfDir: string;
  readonly switchGlobalFile: string;
  readonly switchAdminPort: number;
  /** The edge container: an upgrade that moves the switch port keeps the old one while the edge routes to it. */
  readonly edge: string;
  /** Port of this service on the switch. */
  readonly switchPort: number;
  /** `missing` (default): pull only when absent; `always`; `never` (locally built images). */
  readonly pullPolicy: "missing" | "always" | "never";
  /** Images of the service kept for fast rollbacks. */
  readonly keepImages: number;
  /** Longest wait for in-flight requests of the previous version. */
  readonly drainSeconds: number;
  /** Seconds `docker stop` gives the previous version before killing it. */
  readonly stopTimeout: number;
  readonly envLabel: string;
  readonly serviceLabel: string;
  readonly specLabel: string;
  readonly imageLabel: string;
  /** The release command (`sh -c`), run once per version before it takes traffic; "" for none. */
  readonly releaseCommand: string;
  readonly releaseTimeout: number;
  /** Dump the container database before a release (a managed one keeps its own backups). */
  readonly releaseDump: boolean;
  /** Variables whose values never reach the rollout's output (its secretEnv, the database password): masked. */
  readonly secretVariables: readonly string[];
  /** Paths relative to the deploy user's home (the host contract's). */
  readonly auditLog: string;
  /** The id of the stack that deployed the environment here: a rollout of another stack of that name is refused. */
  readonly ownerFile: string;
  readonly releasesDir: string;
  /** The current runtime script (its `backup` action dumps the database). */
  readonly runtimeLink: string;
  readonly deploymentsDir: string;
  readonly locksDir: string;
}

/** The rollout spec of one service from its configuration, the host contract and the image to run. Pure. */
export function rolloutSpec(
  service: StackConfig["services"][number],
  contract: HostContract,
  image: string,
  switchPort: number,
  databaseKind: StackConfig["database"]["kind"],
  hostLabel?: string,
): RolloutSpec {
  return {
    // Which of several hosts, in every line of the log and the failure (`prod on 10.0.0.12`).
    envName: hostLabel === undefined ? contract.environment : `${contract.environment} on ${hostLabel}`,
    service: service.name,
    image,
    port: service.port,
    healthPath: service.healthPath,
    healthInterval: service.healthCheck.intervalSeconds,
    healthTimeout: service.healthCheck.timeoutSeconds,
    healthDeadline: service.healthCheck.deadlineSeconds,
    readTimeout: service.readTimeoutSeconds,
    replicas: service.replicas,
    network: contract.network,
    containerPrefix: appContainerPrefix(contract, service.name),
    switch: contract.switchContainer,
    switchConfDir: SWITCH_CONF_DIR,
    switchGlobalFile: SWITCH_GLOBAL_FILE,
    switchAdminPort: SWITCH_ADMIN_PORT,
    edge: contract.edgeContainer,
    switchPort,
    // Built here for this engine: never pulled; built and pushed for a server elsewhere: pulled by digest.
    pullPolicy: service.build && !DIGEST_REF.test(image) ? "never" : service.pullPolicy,
    keepImages: service.keepImages,
    drainSeconds: 30,
    stopTimeout: 10,
    envLabel: contract.envLabel,
    serviceLabel: LABELS.service,
    specLabel: LABELS.spec,
    imageLabel: LABELS.image,
    releaseCommand: service.release?.command ?? "",
    releaseTimeout: service.release?.timeoutSeconds ?? 600,
    releaseDump: service.release !== undefined && databaseKind === "container",
    secretVariables: [...Object.keys(service.secretEnv), "DATABASE_PASSWORD"],
    auditLog: contract.paths.auditLog,
    releasesDir: contract.paths.releases,
    ownerFile: contract.paths.owner,
    runtimeLink: contract.paths.runtime,
    deploymentsDir: contract.paths.deployments,
    locksDir: contract.paths.locks,
  };
}

const SOURCES = ["lib.sh", "rollout.sh"].map(readHostSource);

/**
 * The rollout script of one service: its spec as shell variables, the switch file's renderer,
 * then the runbook. Pure: the same spec always renders the same script, so its installed file
 * (named by content hash) changes exactly when the service's spec changes.
 */
export function renderRolloutScript(spec: RolloutSpec): string {
  if (!/^[a-z][a-z0-9-]*$/.test(spec.service)) throw new Error(`renderRolloutScript: invalid service name ${spec.service}`);
  return renderHostScript(`Rollout of ${spec.envName}/${spec.service}`, shellVariables({ ...spec }), [switchFileFunction(), ...SOURCES]);
}
