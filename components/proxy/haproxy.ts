/**
 * The switch's HAProxy configuration, as pure functions of typed input (docs/front-door.md,
 * design C).
 *
 * The switch has one `listen` section per service, on that service's switch port, with two
 * server slots, `blue` and `green`: one is live, the other idle. A rollout points the idle slot
 * at the new version, makes it ready and sets the live one to drain, through the admin socket,
 * without a reload: the edge's keep-alive connections and every other service's streams stay
 * where they are. Each service's file records which container and slot are live, so that a
 * restart or a reload (a service added or removed) starts from what serves.
 */

/** Where the switch reads its service files (the switch's configuration volume). */
export const SWITCH_CONF_DIR = "/usr/local/etc/haproxy/conf.d";
/** Where the switch's container writes its global section at start (from its environment). */
export const SWITCH_GLOBAL_FILE = "/tmp/permacoop-switch-global.cfg";
/** The admin socket, on the switch container's loopback only: the rollouts talk to it from inside the container. */
export const SWITCH_ADMIN_PORT = 9999;
/** A health answer on the switch container's loopback (what `up` waits for). */
export const SWITCH_HEALTH_PORT = 9998;
/** The two server slots of a service. */
export const SWITCH_SLOTS = ["blue", "green"] as const;
export type SwitchSlot = (typeof SWITCH_SLOTS)[number];

/** The switch's file of a service, in the switch's container (its first lines say what is live). */
export function switchServiceFile(service: string): string {
  return `${SWITCH_CONF_DIR}/${service}.cfg`;
}

/** The other slot. */
export function idleSlot(live: SwitchSlot): SwitchSlot {
  return live === "blue" ? "green" : "blue";
}

/** The switch's file of one service. */
export interface SwitchServiceArgs {
  readonly service: string;
  /** Ports the service listens on: its switch port, and any the edge still routes to (an upgrade that moved it). */
  readonly listenPorts: readonly (number | string)[];
  /** Container name of the live version, resolvable on the environment's network. */
  readonly container: string;
  readonly containerPort: number | string;
  /** The slot the live version is in. */
  readonly slot: SwitchSlot | string;
  /** The other slot. */
  readonly idle: SwitchSlot | string;
  /** Seconds the switch waits for the service's next bytes: the service's read timeout (the edge's is the same). */
  readonly serverTimeoutSeconds: number | string;
}

/**
 * The global and default sections, shared by every service: the admin socket, Docker's DNS
 * (a restarted container may come back with another address), timeouts that let the edge close
 * its idle connections first, and retries only of what never reached an app.
 */
export function renderSwitchGlobal(): string {
  return [
    "# Rendered by permacoop-infra (components/proxy/haproxy.ts). Do not edit on the host.",
    "global",
    // Reloads (a service added or removed) pass the listeners to the new process (-W): no refused connection.
    `    stats socket ipv4@127.0.0.1:${SWITCH_ADMIN_PORT} level admin`,
    // An old process after a reload lives while it carries streams, at most this long.
    "    hard-stop-after 10m",
    "",
    "resolvers docker",
    "    parse-resolv-conf",
    "    hold valid 10s",
    "",
    "defaults",
    "    mode http",
    "    timeout connect 5s",
    "    timeout client 60s",
    "    timeout server 60s",
    // Longer than the edge's keepalive_timeout: the edge closes an idle connection, never the
    // switch while the edge writes a request on it.
    "    timeout http-keep-alive 75s",
    "    timeout tunnel 1h",
    // After a reload the old process answers a request on an idle connection, then closes it.
    "    option idle-close-on-response",
    // A request is sent again only when it never reached an app (a refused connection).
    "    retries 3",
    "    retry-on conn-failure",
    "    option redispatch 1",
    "    balance roundrobin",
    "",
    "listen _health",
    `    bind 127.0.0.1:${SWITCH_HEALTH_PORT}`,
    "    http-request return status 200 content-type text/plain string ok",
    "",
  ].join("\n");
}

/** The switch's file for one service: its ports, the live slot pointing at the live container, the idle slot disabled. */
export function renderSwitchService(args: SwitchServiceArgs): string {
  return [
    `# Rendered by permacoop-infra for service ${args.service}; the rollout reads the next two lines.`,
    `# live: ${args.container}`,
    `# slot: ${args.slot}`,
    `listen ${args.service}`,
    ...args.listenPorts.map((port) => `    bind :${port}`),
    // The service's read timeout (the edge has the same): a quiet stream lives as long at both hops.
    `    timeout server ${args.serverTimeoutSeconds}s`,
    // By name, resolved at start and then by Docker's DNS: a restarted container is followed.
    `    server ${args.slot} ${args.container}:${args.containerPort} resolvers docker init-addr libc,none`,
    `    server ${args.idle} 127.0.0.1:${args.containerPort} resolvers docker disabled`,
    "",
  ].join("\n");
}

/**
 * A bash function for the host scripts, `render_switch_file SERVICE CONTAINER SLOT CONTAINER_PORT
 * TIMEOUT PORT...`: renderSwitchService with the values known on the host.
 */
export function switchFileFunction(): string {
  const template = renderSwitchService({
    service: "__SERVICE__",
    listenPorts: ["__PORT__"],
    container: "__LIVE__",
    containerPort: "__CONTAINER_PORT__",
    slot: "__SLOT__",
    idle: "__IDLE__",
    serverTimeoutSeconds: "__TIMEOUT__",
  });
  return [
    "# The switch's file of a service (components/proxy/haproxy.ts, renderSwitchService).",
    "render_switch_file() {",
    '  local service="$1" container="$2" slot="$3" container_port="$4" timeout="$5" idle=blue',
    "  shift 5",
    '  [[ "$slot" == blue ]] && idle=green',
    `  awk -v ports="$*" '/__PORT__/ { n = split(ports, p, " "); for (i = 1; i <= n; i++) { line = $0; sub(/__PORT__/, p[i], line); print line } next } { print }' <<'SWITCH_FILE' |`,
    template.trimEnd(),
    "SWITCH_FILE",
    '    sed -e "s/__SERVICE__/${service}/g" -e "s/__LIVE__/${container}/g" -e "s/__SLOT__/${slot}/g" -e "s/__IDLE__/${idle}/g" -e "s/__CONTAINER_PORT__/${container_port}/g" -e "s/__TIMEOUT__/${timeout}/g"',
    "}",
    "",
  ].join("\n");
}
