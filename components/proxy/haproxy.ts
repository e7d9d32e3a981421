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

import { shellQuote } from "../runtime/shell";

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
  /** Container names of the live version, one per replica, resolvable on the environment's network. */
  readonly containers: readonly string[];
  readonly containerPort: number | string;
  /** The slot the live version is in. */
  readonly slot: SwitchSlot | string;
  /** The other slot. */
  readonly idle: SwitchSlot | string;
  /** Seconds the switch waits for the service's next bytes: the service's read timeout (the edge's is the same). */
  readonly serverTimeoutSeconds: number | string;
  /** Servers per slot: the replicas of the version rolling out (at least the live containers). */
  readonly serversPerSlot: number;
}

/** The server of replica `replica` (from 1) in `slot`: the slot's own name for the first (one replica: the names before replicas). */
export function slotServer(slot: string, replica: number | string): string {
  return String(replica) === "1" ? slot : `${slot}-${replica}`;
}

/** Whether `server` (a name in the service's section) is one of `slot`'s. */
export function isSlotServer(slot: string, server: string): boolean {
  return server === slot || new RegExp(`^${slot}-[0-9]+$`).test(server);
}

/**
 * What several replicas add to a service's section. Passive health: a replica a connection fails
 * to reach is out at once, and a connect check every 2 s brings it back once it accepts again (a
 * crashed container Docker restarted). A request a replica dropped unanswered goes to one other
 * replica when it is idempotent (HAProxy already does so on a reused connection), once: a request
 * that crashes the app never takes down more than two. One replica keeps none of it: its only
 * server is never marked down, and a restarted container serves the next request at once.
 */
const REPLICA_OPTIONS = [
  "    default-server check inter 2s fall 1 rise 2 observe layer4 error-limit 1 on-error mark-down",
  "    retry-on conn-failure empty-response",
  "    retries 1",
  "    http-request disable-l7-retry if !METH_GET !METH_HEAD !METH_OPTIONS",
];

// The two forms of a server line, spelled once: the host scripts' renderer prints them with these as formats.
const liveServerLine = (server: string, container: string, port: number | string) =>
  `    server ${server} ${container}:${port} resolvers docker init-addr libc,none`;
const idleServerLine = (server: string, port: number | string) => `    server ${server} 127.0.0.1:${port} resolvers docker disabled`;

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

/** The switch's file for one service: its ports, the live slot pointing at the live containers, the idle slot disabled. */
export function renderSwitchService(args: SwitchServiceArgs): string {
  const servers = Math.max(args.serversPerSlot, args.containers.length);
  const replicas = Array.from({ length: servers }, (_, i) => i + 1);
  return renderSwitchFile(args, servers > 1 ? REPLICA_OPTIONS : [], [
    ...replicas.map((r) =>
      r <= args.containers.length
        ? liveServerLine(slotServer(args.slot, r), args.containers[r - 1]!, args.containerPort)
        : idleServerLine(slotServer(args.slot, r), args.containerPort),
    ),
    ...replicas.map((r) => idleServerLine(slotServer(args.idle, r), args.containerPort)),
  ]);
}

/** The file around its options and server lines. */
function renderSwitchFile(args: Omit<SwitchServiceArgs, "serversPerSlot">, options: readonly string[], serverLines: readonly string[]): string {
  return [
    `# Rendered by permacoop-infra for service ${args.service}; the rollout reads the next two lines.`,
    `# live: ${args.containers.join(" ")}`,
    `# slot: ${args.slot}`,
    `listen ${args.service}`,
    ...args.listenPorts.map((port) => `    bind :${port}`),
    // The service's read timeout (the edge has the same): a quiet stream lives as long at both hops.
    `    timeout server ${args.serverTimeoutSeconds}s`,
    ...options,
    // By name, resolved at start and then by Docker's DNS: a restarted container is followed.
    ...serverLines,
    "",
  ].join("\n");
}

/**
 * A bash function for the host scripts, `render_switch_file SERVICE CONTAINERS SLOT CONTAINER_PORT
 * TIMEOUT SERVERS PORT...` (CONTAINERS: the live containers, space-separated, one word):
 * renderSwitchService with the values known on the host.
 */
export function switchFileFunction(): string {
  const template = renderSwitchFile(
    {
      service: "__SERVICE__",
      listenPorts: ["__PORT__"],
      containers: ["__LIVE__"],
      containerPort: "__CONTAINER_PORT__",
      slot: "__SLOT__",
      idle: "__IDLE__",
      serverTimeoutSeconds: "__TIMEOUT__",
    },
    ["__REPLICA_OPTIONS__"],
    ["__SERVERS__"],
  );
  return [
    "# The switch's file of a service (components/proxy/haproxy.ts, renderSwitchService).",
    "render_switch_file() {",
    '  local service="$1" containers="$2" slot="$3" container_port="$4" timeout="$5" servers="$6" idle=blue replicas i name',
    "  shift 6",
    '  [[ "$slot" == blue ]] && idle=green',
    '  read -ra replicas <<<"$containers"',
    "  ((servers >= ${#replicas[@]})) || servers=${#replicas[@]}",
    "  # One line per replica in each slot (the live slot's first ones point at the live containers).",
    "  local lines=()",
    "  for ((i = 1; i <= servers; i++)); do",
    '    name="$slot"',
    '    ((i == 1)) || name="${slot}-${i}"',
    "    if ((i <= ${#replicas[@]})); then",
    `      lines+=("$(printf '${liveServerLine("%s", "%s", "%s")}' "$name" "\${replicas[i - 1]}" "$container_port")")`,
    "    else",
    `      lines+=("$(printf '${idleServerLine("%s", "%s")}' "$name" "$container_port")")`,
    "    fi",
    "  done",
    "  for ((i = 1; i <= servers; i++)); do",
    '    name="$idle"',
    '    ((i == 1)) || name="${idle}-${i}"',
    `    lines+=("$(printf '${idleServerLine("%s", "%s")}' "$name" "$container_port")")`,
    "  done",
    "  # Several replicas: their options (haproxy.ts, REPLICA_OPTIONS).",
    "  local options=''",
    `  ((servers == 1)) || options=${shellQuote(REPLICA_OPTIONS.join("\n"))}`,
    `  awk -v ports="$*" -v options="$options" -v servers="$(printf '%s\n' "\${lines[@]}")" '/__PORT__/ { n = split(ports, p, " "); for (i = 1; i <= n; i++) { line = $0; sub(/__PORT__/, p[i], line); print line } next } /__SERVERS__/ { print servers; next } /__REPLICA_OPTIONS__/ { if (options != "") print options; next } { print }' <<'SWITCH_FILE' |`,
    template.trimEnd(),
    "SWITCH_FILE",
    '    sed -e "s/__SERVICE__/${service}/g" -e "s/__LIVE__/${containers}/g" -e "s/__SLOT__/${slot}/g" -e "s/__IDLE__/${idle}/g" -e "s/__CONTAINER_PORT__/${container_port}/g" -e "s/__TIMEOUT__/${timeout}/g"',
    "}",
    "",
  ].join("\n");
}
