#!/usr/bin/env bash
# Test hosts: stand-ins for separate machines, for the e2e tests. Each one is a network
# namespace with its own address, its own Docker engine (own data root, exec root, socket,
# bridge and address pool: nothing the main engine built or pulled is visible there) and its
# own sshd, reachable only from this machine (no default route, no NAT).
#
# Usage (as root):
#   tools/test-hosts.sh check                 can this machine host them? (one message if not)
#   tools/test-hosts.sh up NAME INDEX         create (or confirm) host NAME; INDEX 1..9 picks
#                                             10.231.INDEX.0/24; prints KEY=value facts on stdout
#   tools/test-hosts.sh load NAME IMAGE...    copy images from the main engine to host NAME
#   tools/test-hosts.sh down NAME             remove host NAME completely (no error if gone)
#   tools/test-hosts.sh reach NAME ADDRESS    let host NAME reach ADDRESS, this machine's side of
#                                             another host's link (10.231.N.1: a shared database)
set -euo pipefail

# shellcheck source=tools/hosts.lib.sh
source "$(dirname "$(readlink -f "$0")")/hosts.lib.sh"

readonly LIB_BASE=/var/lib/permacoop-test-hosts
readonly RUN_BASE=/run/permacoop-test-hosts
readonly SSH_PORT=22

log() { printf '[test-hosts] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

usage() {
  sed -n '7,14p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

# All names and paths of host NAME derive from it (and INDEX), so `down` needs only NAME.
set_names() {
  NAME=$1
  # The user name pc-th-NAME must stay a valid, short login name; keep NAME plain.
  [[ "$NAME" =~ ^[a-z][a-z0-9]{0,15}$ ]] || die "NAME must match [a-z][a-z0-9]{0,15}: '$NAME'"
  NETNS=pc-th-$NAME
  NETNS_PATH=/var/run/netns/$NETNS
  HOST_USER=pc-th-$NAME
  HOST_HOME=/home/$HOST_USER
  LIB_DIR=$LIB_BASE/$NAME
  DATA_ROOT=$LIB_DIR/docker
  STATE_DIR=$LIB_DIR/state
  RUN_DIR=$RUN_BASE/$NAME
  EXEC_ROOT=$RUN_DIR/exec
  SOCKET=$RUN_DIR/docker.sock
  DOCKER_URL=unix://$SOCKET
  DOCKERD_PID=$RUN_DIR/dockerd.pid
  SSHD_PID=$RUN_DIR/sshd.pid
}

set_index() {
  INDEX=$1
  [[ "$INDEX" =~ ^[1-9]$ ]] || die "INDEX must be 1..9: '$INDEX'"
  ADDRESS=10.231.$INDEX.2
  RUNNER_ADDRESS=10.231.$INDEX.1
  # Interface names are limited to 15 characters: name the runner side by INDEX, and find it
  # again by its alias (the netns name).
  VETH=pcth$INDEX
}

require_root() { [[ "$(id -u)" == 0 ]] || die "must run as root (network namespaces, dockerd, users)"; }

# TERM, then KILL if it outlives the grace period.
stop_pid() {
  local pid=$1 what=$2
  kill -TERM "$pid" 2>/dev/null || return 0
  if ! wait_gone "$pid" 300; then
    log "$what ($pid) ignored TERM for 30 s: killing it"
    kill -KILL "$pid" 2>/dev/null || true
    wait_gone "$pid" 100 || log "warning: $what ($pid) is still alive"
  fi
}

cmd_check() {
  [[ "$(id -u)" == 0 ]] || die "not root: test hosts need root (network namespaces, dockerd, users)"
  local c
  for c in ip nsenter setsid dockerd docker sshd ssh-keygen iptables useradd userdel findmnt; do
    command -v "$c" >/dev/null 2>&1 || die "missing command: $c (Debian: iproute2, util-linux, docker.io, openssh-server, iptables, passwd)"
  done
  local probe=pc-th-probe-$$
  ip netns add "$probe" 2>/dev/null || die "cannot create a network namespace (ip netns add failed: no CAP_SYS_ADMIN, or a sandbox forbids it)"
  if ! nsenter --net="/var/run/netns/$probe" ip link set lo up 2>/dev/null; then
    ip netns del "$probe" 2>/dev/null || true
    die "cannot enter a network namespace with nsenter --net"
  fi
  ip netns del "$probe"
  log "ok: this machine can host test hosts"
}

facts() {
  local host_key
  host_key=$(cut -d' ' -f1,2 "$STATE_DIR/ssh_host_ed25519_key.pub")
  printf 'NAME=%s\n' "$NAME"
  printf 'ADDRESS=%s\n' "$ADDRESS"
  printf 'RUNNER_ADDRESS=%s\n' "$RUNNER_ADDRESS"
  printf 'SSH_PORT=%s\n' "$SSH_PORT"
  printf 'USER=%s\n' "$HOST_USER"
  printf 'HOST_KEY=%s\n' "$host_key"
  printf 'KNOWN_HOSTS=%s\n' "$STATE_DIR/known_hosts"
  printf 'CLIENT_KEY=%s\n' "$STATE_DIR/client_ed25519"
  printf 'DOCKER_HOST=%s\n' "$DOCKER_URL"
  printf 'DATA_ROOT=%s\n' "$DATA_ROOT"
  printf 'STATE_DIR=%s\n' "$STATE_DIR"
}

up_user() {
  if ! id -u "$HOST_USER" >/dev/null 2>&1; then
    log "creating user $HOST_USER"
    if getent group "$HOST_USER" >/dev/null; then
      useradd --create-home --home-dir "$HOST_HOME" --shell /bin/bash --gid "$HOST_USER" "$HOST_USER"
    else
      useradd --create-home --home-dir "$HOST_HOME" --shell /bin/bash --user-group "$HOST_USER"
    fi
  fi
  # '*' instead of useradd's '!': no password login either way, but with UsePAM no sshd
  # refuses even key logins to a '!'-locked account.
  usermod --password '*' "$HOST_USER"
  # Deliberately NOT in the docker group: the main engine's socket must stay out of reach.
  local ssh_dir=$HOST_HOME/.ssh
  install -d -m 700 -o "$HOST_USER" -g "$HOST_USER" "$ssh_dir"
  install -m 600 -o "$HOST_USER" -g "$HOST_USER" "$STATE_DIR/client_ed25519.pub" "$ssh_dir/authorized_keys"
}

up_network() {
  if [[ ! -e "$NETNS_PATH" ]]; then
    log "creating network namespace $NETNS"
    ip netns add "$NETNS"
  fi
  if ! ip link show dev "$VETH" >/dev/null 2>&1; then
    # The host side is created directly inside the namespace, named eth0 as on a machine.
    ip link add "$VETH" type veth peer name eth0 netns "$NETNS"
    ip link set dev "$VETH" alias "$NETNS"
    ip addr add "$RUNNER_ADDRESS/24" dev "$VETH"
    ip link set dev "$VETH" up
  fi
  local alias
  alias=$(cat "/sys/class/net/$VETH/ifalias" 2>/dev/null || true)
  [[ "$alias" == "$NETNS" ]] || die "interface $VETH belongs to '$alias', not $NETNS: INDEX $INDEX is taken"
  ip -n "$NETNS" link set lo up
  if ! ip -n "$NETNS" -4 addr show dev eth0 | grep -q "inet $ADDRESS/24"; then
    ip -n "$NETNS" addr add "$ADDRESS/24" dev eth0
  fi
  ip -n "$NETNS" link set eth0 up
  # No default route and no NAT: the only peer is the runner, on the connected /24 (and the
  # addresses of this machine `reach` added, again: a link that went down lost its routes).
  local target
  if [[ -f "$STATE_DIR/reach" ]]; then
    while read -r target; do ip -n "$NETNS" route replace "$target/32" via "$RUNNER_ADDRESS" dev eth0; done <"$STATE_DIR/reach"
  fi
}

up_dockerd() {
  if docker -H "$DOCKER_URL" info >/dev/null 2>&1; then
    return 0
  fi
  if live_pid "$DOCKERD_PID" >/dev/null; then
    log "dockerd for $NAME runs but does not answer yet: waiting"
  else
    start_dockerd
  fi
  local i
  for i in $(seq 1 150); do
    if docker -H "$DOCKER_URL" info >/dev/null 2>&1; then
      return 0
    fi
    # Give up early when it already died (the pidfile is written once it runs).
    if ((i > 25)) && ! live_pid "$DOCKERD_PID" >/dev/null; then
      break
    fi
    sleep 0.2
  done
  tail -n 20 "$STATE_DIR/dockerd.log" >&2 || true
  die "dockerd for $NAME did not answer on $DOCKER_URL"
}

start_dockerd() {
  log "starting dockerd for $NAME (log: $STATE_DIR/dockerd.log)"
  # An empty config file, so a machine-wide /etc/docker/daemon.json never leaks in.
  [[ -f "$STATE_DIR/daemon.json" ]] || printf '{}\n' >"$STATE_DIR/daemon.json"
  install -d -m 711 "$DATA_ROOT"
  # nsenter --net, not `ip netns exec`: the latter remounts /sys, and dockerd then fails with
  # "Devices cgroup isn't mounted". setsid -f detaches it from this script's session.
  # --group: the socket belongs to the deploy user's group, nobody else's.
  # --containerd-namespace: distinct even if dockerd ever attached to a shared containerd.
  # --insecure-registry: a test registry on this machine's side of the link speaks plain HTTP.
  setsid -f nsenter --net="$NETNS_PATH" \
    dockerd \
    --config-file "$STATE_DIR/daemon.json" \
    --data-root "$DATA_ROOT" \
    --exec-root "$EXEC_ROOT" \
    --host "$DOCKER_URL" \
    --group "$HOST_USER" \
    --pidfile "$DOCKERD_PID" \
    --bip "10.232.$INDEX.1/24" \
    --default-address-pool "base=10.233.$INDEX.0/24,size=28" \
    --insecure-registry "$RUNNER_ADDRESS/32" \
    --containerd-namespace "$NETNS" \
    --containerd-plugins-namespace "$NETNS-plugins" \
    --shutdown-timeout 5 \
    </dev/null >>"$STATE_DIR/dockerd.log" 2>&1
}

up_sshd() {
  cat >"$STATE_DIR/sshd_config" <<EOF
# sshd of test host $NAME (tools/test-hosts.sh); runs inside network namespace $NETNS.
Port $SSH_PORT
ListenAddress $ADDRESS
HostKey $STATE_DIR/ssh_host_ed25519_key
PidFile $SSHD_PID
PubkeyAuthentication yes
AuthorizedKeysFile .ssh/authorized_keys
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin no
AllowUsers $HOST_USER
UsePAM no
X11Forwarding no
PrintMotd no
SetEnv DOCKER_HOST=$DOCKER_URL
Subsystem sftp internal-sftp
EOF
  if live_pid "$SSHD_PID" >/dev/null; then
    return 0
  fi
  log "starting sshd for $NAME on $ADDRESS:$SSH_PORT (log: $STATE_DIR/sshd.log)"
  install -d -m 755 /run/sshd # privilege separation directory, absent where sshd never ran
  /usr/sbin/sshd -t -f "$STATE_DIR/sshd_config"
  # sshd daemonizes itself and writes its pidfile.
  nsenter --net="$NETNS_PATH" /usr/sbin/sshd -f "$STATE_DIR/sshd_config" -E "$STATE_DIR/sshd.log"
  local i
  for i in $(seq 1 50); do
    if live_pid "$SSHD_PID" >/dev/null && timeout 1 bash -c "exec 3<>/dev/tcp/$ADDRESS/$SSH_PORT" 2>/dev/null; then
      return 0
    fi
    sleep 0.2
  done
  tail -n 20 "$STATE_DIR/sshd.log" >&2 || true
  die "sshd for $NAME does not answer on $ADDRESS:$SSH_PORT"
}

cmd_up() {
  [[ $# -eq 2 ]] || usage
  require_root
  set_names "$1"
  set_index "$2"
  if [[ -s "$STATE_DIR/index" && "$(<"$STATE_DIR/index")" != "$INDEX" ]]; then
    die "host $NAME is already up with INDEX $(<"$STATE_DIR/index"): run down $NAME first"
  fi
  # Refuse before creating anything when another host holds this INDEX.
  local alias
  alias=$(cat "/sys/class/net/$VETH/ifalias" 2>/dev/null || true)
  if [[ -e "/sys/class/net/$VETH" && "$alias" != "$NETNS" ]]; then
    die "INDEX $INDEX is taken: interface $VETH belongs to '${alias:-?}'"
  fi
  install -d -m 755 "$LIB_BASE" "$LIB_DIR" "$RUN_BASE" "$RUN_DIR"
  install -d -m 700 "$STATE_DIR"
  printf '%s\n' "$INDEX" >"$STATE_DIR/index"
  [[ -f "$STATE_DIR/ssh_host_ed25519_key" ]] ||
    ssh-keygen -q -t ed25519 -N '' -C "pc-th-$NAME host" -f "$STATE_DIR/ssh_host_ed25519_key"
  [[ -f "$STATE_DIR/client_ed25519" ]] ||
    ssh-keygen -q -t ed25519 -N '' -C "pc-th-$NAME client" -f "$STATE_DIR/client_ed25519"
  printf '%s %s\n' "$ADDRESS" "$(cut -d' ' -f1,2 "$STATE_DIR/ssh_host_ed25519_key.pub")" >"$STATE_DIR/known_hosts"
  up_user # before dockerd: its socket is handed to the user's group
  up_network
  up_dockerd
  up_sshd
  facts
}

cmd_load() {
  [[ $# -ge 2 ]] || usage
  require_root
  set_names "$1"
  shift
  load_images "test host" "$@"
}

# Every process still tied to this host: inside its namespace, or naming its directories.
host_pids() {
  {
    [[ -e "$NETNS_PATH" ]] && ip netns pids "$NETNS" 2>/dev/null
    local f pid args
    for f in /proc/[0-9]*/cmdline; do
      pid=${f#/proc/}
      pid=${pid%/cmdline}
      [[ "$pid" == "$$" ]] && continue
      args=$(tr '\0' ' ' 2>/dev/null <"$f") || continue
      if [[ "$args" == *"$RUN_DIR/"* || "$args" == *"$LIB_DIR/"* ]]; then
        printf '%s\n' "$pid"
      fi
    done
  } | sort -un
}

cmd_down() {
  [[ $# -eq 1 ]] || usage
  require_root
  set_names "$1"
  local pid id cg dir ids
  # 1. sshd first (no new sessions), then the deploy user's sessions.
  if pid=$(live_pid "$SSHD_PID"); then stop_pid "$pid" sshd; fi
  if id -u "$HOST_USER" >/dev/null 2>&1; then
    for pid in $(pgrep -u "$HOST_USER" || true); do kill -KILL "$pid" 2>/dev/null || true; done
  fi
  # 2. The containers, then their engine (which stops its containerd).
  if docker -H "$DOCKER_URL" info >/dev/null 2>&1; then
    mapfile -t ids < <(docker -H "$DOCKER_URL" ps -aq)
    if ((${#ids[@]})); then docker -H "$DOCKER_URL" rm -f "${ids[@]}" >/dev/null || true; fi
  fi
  if pid=$(live_pid "$DOCKERD_PID"); then stop_pid "$pid" dockerd; fi
  # 3. Stragglers: container processes of a crashed engine (by their cgroup), shims, sessions.
  if [[ -d "$DATA_ROOT/containers" ]]; then
    for dir in "$DATA_ROOT"/containers/*/; do
      id=$(basename "$dir")
      for cg in /sys/fs/cgroup/pids/docker/"$id" /sys/fs/cgroup/docker/"$id" /sys/fs/cgroup/system.slice/docker-"$id".scope; do
        [[ -f "$cg/cgroup.procs" ]] || continue
        for pid in $(<"$cg/cgroup.procs"); do kill -KILL "$pid" 2>/dev/null || true; done
      done
    done
  fi
  for pid in $(host_pids); do stop_pid "$pid" "leftover process"; done
  # 4. Mounts the engine may have left (overlays, container netns bind mounts), deepest first.
  local mnt
  for mnt in $(findmnt -rn -o TARGET | grep -E "^($RUN_DIR|$LIB_DIR)(/|$)" | sort -r); do
    umount -l "$mnt" 2>/dev/null || true
  done
  # 5. Network: deleting the namespace deletes eth0 and with it its veth peer; any peer left
  # (namespace already gone) is found by its alias.
  if [[ -e "$NETNS_PATH" ]]; then ip netns del "$NETNS"; fi
  local link
  for link in /sys/class/net/pcth*; do
    [[ -e "$link" ]] || continue
    if [[ "$(cat "$link/ifalias" 2>/dev/null)" == "$NETNS" ]]; then ip link del "${link##*/}" 2>/dev/null || true; fi
  done
  # 6. Files, then the user (its crontab lives outside its home).
  rm -rf "$RUN_DIR" "$LIB_DIR"
  rmdir "$RUN_BASE" "$LIB_BASE" 2>/dev/null || true
  if id -u "$HOST_USER" >/dev/null 2>&1; then
    crontab -r -u "$HOST_USER" 2>/dev/null || true
    userdel -r "$HOST_USER" 2>/dev/null || userdel -r -f "$HOST_USER" 2>/dev/null || true
  fi
  rm -rf "$HOST_HOME"
  if getent group "$HOST_USER" >/dev/null; then groupdel "$HOST_USER" 2>/dev/null || true; fi
  if id -u "$HOST_USER" >/dev/null 2>&1; then die "could not remove user $HOST_USER"; fi
  log "test host $NAME is gone"
}

# A /32 route to one of this machine's runner addresses, via this host's own link: the host
# reaches that address of this machine, never the other host behind it (no wider route).
cmd_reach() {
  [[ $# -eq 2 ]] || usage
  require_root
  set_names "$1"
  local target=$2
  [[ "$target" =~ ^10\.231\.[1-9]\.1$ ]] || die "ADDRESS must be this machine's side of a test host link (10.231.N.1): '$target'"
  # No `| grep -q` under pipefail: grep's early exit would fail ip with SIGPIPE, now and then.
  [[ "$(ip -4 -o addr show)" == *" $target/"* ]] || die "$target is not an address of this machine (is its test host up?)"
  [[ -s "$STATE_DIR/index" && -e "$NETNS_PATH" ]] || die "host $NAME is not up"
  set_index "$(<"$STATE_DIR/index")"
  ip -n "$NETNS" route replace "$target/32" via "$RUNNER_ADDRESS" dev eth0
  grep -qxF "$target" "$STATE_DIR/reach" 2>/dev/null || printf '%s\n' "$target" >>"$STATE_DIR/reach"
}

case "${1:-}" in
  check) shift; cmd_check "$@" ;;
  up) shift; cmd_up "$@" ;;
  load) shift; cmd_load "$@" ;;
  down) shift; cmd_down "$@" ;;
  reach) shift; cmd_reach "$@" ;;
  *) usage ;;
esac
