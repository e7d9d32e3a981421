import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { CERT_NAME } from "../proxy/nginx";
import { shellQuote } from "../rollout/rollout";
import { HOST_LIB } from "./hostLib";

/** Names and settings of an environment's runtime on one Docker host. */
export interface RuntimeSpec {
  readonly environment: string;
  /** Prefix of every container and volume name. */
  readonly prefix: string;
  readonly network: string;
  readonly nginxImage: string;
  readonly edgeContainer: string;
  readonly switchContainer: string;
  /** Address the edge publishes on (`127.0.0.1` for a local environment, `0.0.0.0` on a server). */
  readonly bindAddress: string;
  readonly httpPort: number;
  /** 0 when TLS is off. */
  readonly httpsPort: number;
  /** ACME certificate for the edge (TLS on), or none. */
  readonly certificate: {
    readonly domains: readonly string[];
    readonly email: string;
    readonly acmeDirectory: string;
    readonly certbotImage: string;
    readonly deadlineSeconds: number;
  } | null;
  /** `container`: a PostgreSQL container with a named volume, backed up daily; `none`: a managed database elsewhere. */
  readonly database:
    | { readonly mode: "none" }
    | {
        readonly mode: "container";
        readonly image: string;
        readonly container: string;
        readonly volume: string;
        readonly name: string;
        readonly user: string;
        /** Hour (host clock) of the daily pg_dump. */
        readonly backupHour: number;
        /** Days daily backups are kept. */
        readonly backupRetentionDays: number;
      };
  /** The services rolled out: what `verify` checks, and how a restore knows they are back. */
  readonly services: readonly { readonly name: string; readonly port: number; readonly healthPath: string }[];
}

const BODY = readFileSync(join(__dirname, "runtime.body.sh"), "utf8");

/** Derives the runtime's names from the environment name (`pc-<env>-…`). */
export function runtimeNames(environment: string): {
  prefix: string;
  network: string;
  edgeContainer: string;
  switchContainer: string;
  dbContainer: string;
  dbVolume: string;
} {
  const prefix = `pc-${environment}`;
  return {
    prefix,
    network: prefix,
    edgeContainer: `${prefix}-edge`,
    switchContainer: `${prefix}-switch`,
    dbContainer: `${prefix}-db`,
    dbVolume: `${prefix}-pgdata`,
  };
}

/** The host runtime script (actions listed at the top of runtime.body.sh). Pure. */
export function renderRuntimeScript(spec: RuntimeSpec): string {
  const db = spec.database;
  const variables: [string, string | number][] = [
    ["ENV_NAME", spec.environment],
    ["PREFIX", spec.prefix],
    ["NETWORK", spec.network],
    ["NGINX_IMAGE", spec.nginxImage],
    ["EDGE", spec.edgeContainer],
    ["SWITCH", spec.switchContainer],
    ["BIND_ADDRESS", spec.bindAddress],
    ["HTTP_PORT", spec.httpPort],
    ["HTTPS_PORT", spec.httpsPort],
    ["DB_MODE", db.mode],
    ["DB_IMAGE", db.mode === "container" ? db.image : ""],
    ["DB_CONTAINER", db.mode === "container" ? db.container : ""],
    ["DB_VOLUME", db.mode === "container" ? db.volume : ""],
    ["DB_NAME", db.mode === "container" ? db.name : ""],
    ["DB_USER", db.mode === "container" ? db.user : ""],
    ["BACKUP_HOUR", db.mode === "container" ? db.backupHour : 0],
    // Environments sharing a host do not dump at the same minute; the minute is stable across renders.
    ["BACKUP_MINUTE", createHash("sha256").update(spec.environment).digest()[0]! % 60],
    ["BACKUP_RETENTION_DAYS", db.mode === "container" ? db.backupRetentionDays : 0],
    ["SERVICES", spec.services.map((s) => s.name).join(" ")],
    // name=port/health-path, one per service (paths hold no spaces: the schema says so).
    ["SERVICE_PROBES", spec.services.map((s) => `${s.name}=${s.port}${s.healthPath}`).join(" ")],
    ["CERT_NAME", CERT_NAME],
    ["CERT_DOMAINS", spec.certificate?.domains.join(" ") ?? ""],
    ["ACME_EMAIL", spec.certificate?.email ?? ""],
    ["ACME_DIRECTORY", spec.certificate?.acmeDirectory ?? ""],
    ["CERTBOT_IMAGE", spec.certificate?.certbotImage ?? ""],
    ["CERT_DEADLINE", spec.certificate?.deadlineSeconds ?? 0],
  ];
  return [
    "#!/usr/bin/env bash",
    `# Host runtime of ${spec.environment}, rendered by permacoop-infra (components/runtime).`,
    ...variables.map(([n, v]) => `${n}=${shellQuote(v)}`),
    "",
    HOST_LIB,
    BODY,
  ].join("\n");
}

/** A command line running the runtime script (given as `script`) with an action. */
export function runtimeCommand(script: string, action: string): string {
  return `bash -c ${shellQuote(script)} runtime ${action}`;
}
