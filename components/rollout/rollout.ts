import { readFileSync } from "node:fs";
import { join } from "node:path";
import { renderSwitchConfig } from "../proxy/nginx";
import { HOST_LIB } from "../runtime/hostLib";

/** Everything a rollout of one service needs to know, fixed at render time. */
export interface RolloutSpec {
  readonly environment: string;
  readonly service: string;
  /** Image reference to run. */
  readonly image: string;
  /** Port the app listens on inside its container. */
  readonly port: number;
  readonly healthPath: string;
  readonly healthIntervalSeconds: number;
  readonly healthTimeoutSeconds: number;
  readonly healthDeadlineSeconds: number;
  /** Docker network of the environment. */
  readonly network: string;
  /** Prefix of container names (`pc-<env>`). */
  readonly containerPrefix: string;
  /** Container name of the switch nginx. */
  readonly switchContainer: string;
  /** Port of this service on the switch. */
  readonly switchPort: number;
  /** `missing` (default): pull only when absent; `always`; `never` (locally built images). */
  readonly pullPolicy: "missing" | "always" | "never";
  /** Images of the service kept for fast rollbacks. */
  readonly keepImages: number;
  /** Longest wait for in-flight requests of the previous version. */
  readonly drainSeconds: number;
  /** Seconds `docker stop` gives the previous version before killing it. */
  readonly stopTimeoutSeconds: number;
}

const BODY = readFileSync(join(__dirname, "rollout.body.sh"), "utf8");
const LIVE_PLACEHOLDER = "__LIVE_CONTAINER__";

/** Single-quotes a value for bash. */
export function shellQuote(value: string | number): string {
  return `'${String(value).replace(/'/g, `'\\''`)}'`;
}

/**
 * The rollout script of one service: its spec as shell variables, the switch configuration
 * template, then the runbook body. Pure: the same spec always renders the same script, so the
 * command that runs it changes exactly when the service's spec changes.
 */
export function renderRolloutScript(spec: RolloutSpec): string {
  if (!/^[a-z][a-z0-9-]*$/.test(spec.service)) throw new Error(`renderRolloutScript: invalid service name ${spec.service}`);
  const variables: [string, string | number][] = [
    ["ENV_NAME", spec.environment],
    ["SERVICE", spec.service],
    ["IMAGE", spec.image],
    ["PORT", spec.port],
    ["HEALTH_PATH", spec.healthPath],
    ["HEALTH_INTERVAL", spec.healthIntervalSeconds],
    ["HEALTH_TIMEOUT", spec.healthTimeoutSeconds],
    ["HEALTH_DEADLINE", spec.healthDeadlineSeconds],
    ["NETWORK", spec.network],
    ["CONTAINER_PREFIX", spec.containerPrefix],
    ["SWITCH", spec.switchContainer],
    ["SWITCH_PORT", spec.switchPort],
    ["PULL_POLICY", spec.pullPolicy],
    ["KEEP_IMAGES", spec.keepImages],
    ["DRAIN_SECONDS", spec.drainSeconds],
    ["STOP_TIMEOUT", spec.stopTimeoutSeconds],
  ];
  const switchTemplate = renderSwitchConfig({ service: spec.service, listenPort: spec.switchPort, container: LIVE_PLACEHOLDER, containerPort: spec.port });
  return [
    "#!/usr/bin/env bash",
    `# Rollout of ${spec.environment}/${spec.service}, rendered by permacoop-infra (components/rollout).`,
    ...variables.map(([name, value]) => `${name}=${shellQuote(value)}`),
    "",
    "# The switch's file for this service, with the live container's name filled in.",
    "render_switch_config() {",
    `  sed "s/${LIVE_PLACEHOLDER}/$1/g" <<'SWITCH_CONFIG'`,
    switchTemplate.trimEnd(),
    "SWITCH_CONFIG",
    "}",
    "",
    HOST_LIB,
    BODY,
  ].join("\n");
}
