import { createHash } from "node:crypto";
import { containerAccessories } from "../config/rules";
import { AccessoryConfig, StackConfig } from "../config/schema";
import { renderSwitchGlobal, SWITCH_ADMIN_PORT, SWITCH_CONF_DIR, SWITCH_GLOBAL_FILE, switchFileFunction } from "../proxy/haproxy";
import { DEFAULT_READ_TIMEOUT_SECONDS } from "../proxy/nginx";
import { CERT_NAME } from "../proxy/nginx";
import {
  DEFAULT_RETRY_AFTER_SECONDS,
  MAINTENANCE_DIR,
  MAINTENANCE_FLAG_FILE,
  MAINTENANCE_PAGE_FILE,
  MAINTENANCE_SETTINGS_FILE,
  renderMaintenanceSettings,
} from "../proxy/maintenance";
import { ACCESSORY_PORTS, accessoryNames, HostContract, JOB_SCHEDULE_PREFIX, LABELS, S3_ACCESS_KEY_ID, S3_REGION } from "./contract";
import { readHostSource, renderHostScript } from "./scripts";
import { shellVariables } from "./shell";
import { SWITCH_PORTS } from "./switchPort";

/** Where and how the edge publishes. */
export interface Publish {
  /** `127.0.0.1` for a local environment, `0.0.0.0` on a server. */
  readonly bindAddress: string;
  readonly httpPort: number;
  readonly httpsPort: number;
}

/**
 * Everything the host runtime script knows, flat: each key becomes the script's variable of the
 * same name in upper snake case (`dbVolume` → `DB_VOLUME`). Built by `runtimeSpec` only.
 */
export interface RuntimeSpec {
  readonly envName: string;
  readonly envLabel: string;
  readonly serviceLabel: string;
  readonly specLabel: string;
  readonly network: string;
  /** The edge's image. */
  readonly nginxImage: string;
  readonly edge: string;
  /** The switch: its container, image, global section (in its environment) and what it was started with. */
  readonly switch: string;
  readonly switchImage: string;
  readonly switchGlobal: string;
  readonly switchSpec: string;
  /** The nginx switch an earlier release ran, replaced by `up`. */
  readonly legacySwitch: string;
  /** In the switch's container: its service files, its global section, its admin socket. */
  readonly switchConfDir: string;
  readonly switchGlobalFile: string;
  readonly switchAdminPort: number;
  /** Seconds the switch waits for a service's next bytes in a file it takes over from the legacy switch (the next rollout writes the service's own). */
  readonly defaultReadTimeout: number;
  /** The switch's listen ports (`first-last`), reserved from its outgoing connections' ports. */
  readonly switchPorts: string;
  readonly switchConfVolume: string;
  readonly edgeConfVolume: string;
  readonly acmeVolume: string;
  readonly certsVolume: string;
  /** In the edge's container: maintenance mode's directory, flag file, settings and page (maintenance.ts). */
  readonly maintenanceDir: string;
  readonly maintenanceFlagFile: string;
  readonly maintenanceSettingsFile: string;
  /** The settings the rendered configuration starts from (the default Retry-After): no reload to keep them. */
  readonly maintenanceDefaultSettings: string;
  readonly maintenancePageFile: string;
  readonly bindAddress: string;
  readonly httpPort: number;
  /** 0 when TLS is off. */
  readonly httpsPort: number;
  /** Paths relative to the deploy user's home (the host contract's). */
  readonly hostRoot: string;
  readonly stateDir: string;
  readonly runtimeLink: string;
  readonly backupsDir: string;
  readonly deploymentsDir: string;
  /** Where the release phase records the versions it ran for (they belong to the data: they go with it). */
  readonly releasesDir: string;
  /** The rollouts' locks: a reload of the switch by the runtime takes the switch's one too. */
  readonly locksDir: string;
  /** The id of the stack that deployed the environment here (see ownerGuard). */
  readonly ownerFile: string;
  /** Marks a destroyed environment whose database volume was kept (envIdProbe adopts it). */
  readonly dataKeptFile: string;
  /** The host's audit log: rollouts and maintenance mode leave a line there. */
  readonly auditLog: string;
  readonly crontabTag: string;
  /** `container`: a PostgreSQL container with a named volume, backed up daily; `none`: a managed database elsewhere. */
  readonly dbMode: "container" | "none";
  readonly dbImage: string;
  readonly dbContainer: string;
  readonly dbVolume: string;
  readonly dbName: string;
  readonly dbUser: string;
  /** Hour (host clock) of the daily pg_dump. */
  readonly backupHour: number;
  /** Minute of the daily pg_dump: environments sharing a host do not dump at once; stable across renders. */
  readonly backupMinute: number;
  /** Days daily backups are kept. */
  readonly backupRetentionDays: number;
  /** The services rolled out: what `verify` checks, and how a restore knows they are back. */
  readonly services: readonly string[];
  /** `name=port/health-path`, one per service (paths hold no spaces: the schema says so). */
  readonly serviceProbes: readonly string[];
  readonly certName: string;
  /** Empty when TLS is off. */
  readonly certDomains: readonly string[];
  readonly acmeEmail: string;
  readonly acmeDirectory: string;
  readonly certbotImage: string;
  readonly certDeadline: number;
  /** One line per job: name, service, deadline, schedule and command, tab-separated (the command last: it may hold tabs). */
  readonly jobs: string;
  readonly jobSchedulePrefix: string;
  readonly jobContainerPrefix: string;
  readonly jobLabel: string;
  /** One line per accessory: name, type, image, port, data path and bucket, tab-separated, "-" for none (accessories.sh). */
  readonly accessories: string;
  /** Container and volume of an accessory are `<accessoryPrefix><name>` (the contract's accessoryNames). */
  readonly accessoryPrefix: string;
  readonly accessoryLabel: string;
  /** How the host signs its requests to an `s3` accessory (its backups). */
  readonly s3AccessKey: string;
  readonly s3Region: string;
}

/** An accessory as the runtime reads it (accessories.sh): name, type, image, port, data path, bucket; tab-separated, "-" for none. */
export function accessoryLine(a: AccessoryConfig): string {
  return [
    a.name,
    a.type,
    a.image,
    a.type === "generic" ? a.port : ACCESSORY_PORTS[a.type],
    a.type === "generic" ? a.dataPath : "-",
    a.type === "s3" ? (a.bucket ?? a.name) : "-",
  ].join("\t");
}

/** The runtime spec of an environment from its configuration, host contract and publication. Pure. */
export function runtimeSpec(config: StackConfig, contract: HostContract, publish: Publish): RuntimeSpec {
  const db = config.database.kind === "container" ? config.database : undefined;
  const tls = config.tls.enabled ? config.tls : undefined;
  return {
    envName: contract.environment,
    envLabel: contract.envLabel,
    serviceLabel: LABELS.service,
    specLabel: LABELS.spec,
    network: contract.network,
    nginxImage: config.proxy.image,
    edge: contract.edgeContainer,
    switch: contract.switchContainer,
    switchImage: config.proxy.switchImage,
    switchGlobal: renderSwitchGlobal(),
    // A change of the global section recreates the switch (a reload would not re-read its environment).
    switchSpec: `haproxy-v1-${createHash("sha256").update(renderSwitchGlobal()).digest("hex").slice(0, 12)}`,
    legacySwitch: contract.legacySwitchContainer,
    switchConfDir: SWITCH_CONF_DIR,
    switchGlobalFile: SWITCH_GLOBAL_FILE,
    switchAdminPort: SWITCH_ADMIN_PORT,
    defaultReadTimeout: DEFAULT_READ_TIMEOUT_SECONDS,
    switchPorts: `${SWITCH_PORTS.first}-${SWITCH_PORTS.first + SWITCH_PORTS.count - 1}`,
    switchConfVolume: contract.volumes.switchConf,
    edgeConfVolume: contract.volumes.edgeConf,
    acmeVolume: contract.volumes.acme,
    certsVolume: contract.volumes.certs,
    maintenanceDir: MAINTENANCE_DIR,
    maintenanceFlagFile: MAINTENANCE_FLAG_FILE,
    maintenanceSettingsFile: MAINTENANCE_SETTINGS_FILE,
    maintenanceDefaultSettings: renderMaintenanceSettings(DEFAULT_RETRY_AFTER_SECONDS),
    maintenancePageFile: MAINTENANCE_PAGE_FILE,
    bindAddress: publish.bindAddress,
    httpPort: publish.httpPort,
    httpsPort: tls ? publish.httpsPort : 0,
    hostRoot: contract.paths.root,
    stateDir: contract.paths.state,
    runtimeLink: contract.paths.runtime,
    backupsDir: contract.paths.backups,
    deploymentsDir: contract.paths.deployments,
    releasesDir: contract.paths.releases,
    locksDir: contract.paths.locks,
    ownerFile: contract.paths.owner,
    dataKeptFile: contract.paths.dataKept,
    auditLog: contract.paths.auditLog,
    crontabTag: contract.crontabTag,
    dbMode: db ? "container" : "none",
    dbImage: db?.image ?? "",
    dbContainer: db ? contract.dbContainer : "",
    dbVolume: db ? contract.dbVolume : "",
    dbName: db?.name ?? "",
    dbUser: db?.user ?? "",
    // Accessories are backed up on the database's schedule, or at 3:xx with a week kept.
    backupHour: db?.backupHour ?? 3,
    backupMinute: createHash("sha256").update(contract.environment).digest()[0]! % 60,
    backupRetentionDays: db?.backupRetentionDays ?? 7,
    services: config.services.map((s) => s.name),
    serviceProbes: config.services.map((s) => `${s.name}=${s.port}${s.healthPath}`),
    certName: CERT_NAME,
    certDomains: tls ? config.dns.hostnames : [],
    acmeEmail: tls?.email ?? "",
    acmeDirectory: tls?.acmeDirectory ?? "",
    certbotImage: tls?.certbotImage ?? "",
    certDeadline: tls?.deadlineSeconds ?? 0,
    jobs: config.jobs.map((job) => [job.name, job.service, job.timeoutSeconds, job.schedule, job.command].join("\t")).join("\n"),
    jobSchedulePrefix: JOB_SCHEDULE_PREFIX,
    jobContainerPrefix: contract.jobContainerPrefix,
    jobLabel: LABELS.job,
    accessories: containerAccessories(config).map(accessoryLine).join("\n"),
    accessoryPrefix: accessoryNames(contract, "").container,
    accessoryLabel: LABELS.accessory,
    s3AccessKey: S3_ACCESS_KEY_ID,
    s3Region: S3_REGION,
  };
}

/** The concerns of the runtime script, in the order they are rendered (components/runtime/host/). */
const RUNTIME_SOURCES = [
  "lib.sh",
  "nginx.sh",
  "docker.sh",
  "proxy.sh",
  "tls.sh",
  "data.sh",
  "verify.sh",
  "maintenance.sh",
  "jobs.sh",
  "accessories.sh",
  "runtime.sh",
].map(readHostSource);

/** The host runtime script: its spec as variables, then the concerns. Pure. */
export function renderRuntimeScript(spec: RuntimeSpec): string {
  return renderHostScript(`Host runtime of ${spec.envName}`, shellVariables({ ...spec }), [switchFileFunction(), ...RUNTIME_SOURCES]);
}
