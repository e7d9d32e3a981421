#!/usr/bin/env bash
# VM hosts: the Scaleway VM path minus the Scaleway API. A Debian bookworm root filesystem
# without what cloud-init installs (like the debian_bookworm image) is provisioned by the REAL
# cloud-init from the given user data (NoCloud seed, its four stages run in a chroot), then
# "booted": its own dockerd, sshd and cron (the ones cloud-init installed and configured) run
# chrooted in a network namespace with its own address, reachable only from this machine.
#
# Usage (as root):
#   tools/vm-hosts.sh up NAME INDEX USER_DATA_FILE   provision and boot host NAME (or confirm it
#                                                    runs); INDEX 1..9 picks 10.231.INDEX.0/24;
#                                                    prints KEY=value facts on stdout
#   tools/vm-hosts.sh load NAME IMAGE...             copy images from the main engine to NAME
#   tools/vm-hosts.sh down NAME                      remove host NAME completely (no error if gone)
set -euo pipefail
# It makes a root filesystem: files get a system's modes whatever the caller's umask (a 0600
# resolv.conf, unreadable to apt's sandbox user, is a mirror that "cannot be resolved").
umask 022

readonly LIB_BASE=/var/lib/permacoop-vm-hosts
readonly CACHE_DIR=/var/cache/permacoop-vm-hosts
# Bump when the base recipe below changes: the cached tarball is keyed by it.
readonly BASE_RECIPE=3
readonly BASE_TARBALL=$CACHE_DIR/debian-bookworm-cloud-init-r$BASE_RECIPE.tar
readonly SUITE=bookworm
readonly MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
readonly SSH_PORT=22
SELF=$(readlink -f "$0")
readonly SELF
# shellcheck source=tools/hosts.lib.sh
source "$(dirname "$SELF")/hosts.lib.sh"

log() { printf '[vm-hosts] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }
millis() { date +%s%3N; }
seconds_since() { local ms=$(($(millis) - $1)); printf '%d.%01d s' $((ms / 1000)) $((ms % 1000 / 100)); }

usage() {
  sed -n '8,14p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

require_root() { [[ "$(id -u)" == 0 ]] || die "must run as root (namespaces, chroot, mounts)"; }

# All names and paths of host NAME derive from it (and INDEX), so `down` needs only NAME.
set_names() {
  NAME=$1
  [[ "$NAME" =~ ^[a-z][a-z0-9]{0,15}$ ]] || die "NAME must match [a-z][a-z0-9]{0,15}: '$NAME'"
  NETNS=pc-vm-$NAME
  NETNS_PATH=/var/run/netns/$NETNS
  LIB_DIR=$LIB_BASE/$NAME
  ROOT=$LIB_DIR/root
  STATE_DIR=$LIB_DIR/state
  INIT_PID=$STATE_DIR/init.pid
  # NOT $ROOT/var/run/docker.sock: /var/run is an absolute symlink to /run, which from this
  # machine's side would be the MAIN engine's socket.
  SOCKET=$ROOT/run/docker.sock
  DOCKER_URL=unix://$SOCKET
}

set_index() {
  INDEX=$1
  [[ "$INDEX" =~ ^[1-9]$ ]] || die "INDEX must be 1..9: '$INDEX'"
  ADDRESS=10.231.$INDEX.2
  RUNNER_ADDRESS=10.231.$INDEX.1
  # Interface names are limited to 15 characters: name the runner side by INDEX, and find it
  # again by its alias (the netns name).
  VETH=pcvm$INDEX
}

# The boot init of this host, if alive (checked by its command line: pids get reused).
init_pid() {
  local pid
  pid=$(live_pid "$INIT_PID") || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "__init $NAME " || return 1
  printf '%s\n' "$pid"
}

# Mount points at or under DIR in this machine's mount table, deepest first.
mounts_under() {
  local dir=$1
  awk -v d="$dir" '$2 == d || index($2, d "/") == 1 { print $2 }' /proc/mounts | sort -r
}

# Processes whose root directory is DIR or below (chrooted into it, or containers inside it).
pids_rooted_in() {
  local dir=$1 f pid r
  for f in /proc/[0-9]*/root; do
    pid=${f#/proc/}
    pid=${pid%/root}
    r=$(readlink "$f" 2>/dev/null) || continue
    if [[ "$r" == "$dir" || "$r" == "$dir/"* ]]; then printf '%s\n' "$pid"; fi
  done
}

# ---------------------------------------------------------------------------------------------
# Namespaced chroot helpers. Everything mounted for a chroot lives in a private mount namespace,
# so it vanishes with its last process and never shows (or propagates) in this machine's table.

# Run by `unshare --mount --uts --ipc --pid --fork`: mounts what a chroot into ROOT needs, then
# runs the command (which chroots itself). UTS: cloud-init's set_hostname must not rename this
# machine. PID: any daemon a package or cloud-init starts dies with the namespace.
ns_main() {
  local root=$1 sys_mode=$2
  shift 2
  mount_basics "$root" "$sys_mode"
  "$@"
}

# /proc of the new pid namespace; a sysfs (read-only while provisioning: nothing to change
# there); a minimal /dev (no block devices: cloud-init's growpart/resizefs must not find this
# machine's disk); /run as a tmpfs unless it already is a mount point (the booted host's).
mount_basics() {
  local root=$1 sys_mode=$2 n
  mount -t proc -o nosuid,nodev,noexec proc "$root/proc"
  mount -t sysfs -o "$sys_mode,nosuid,nodev,noexec" sysfs "$root/sys"
  mount -t tmpfs -o mode=755,nosuid tmpfs "$root/dev"
  for n in null zero full random urandom tty; do
    : >"$root/dev/$n"
    mount --bind "/dev/$n" "$root/dev/$n"
  done
  mkdir -p "$root/dev/pts" "$root/dev/shm"
  mount -t devpts -o newinstance,ptmxmode=0666,mode=0620,gid=5 devpts "$root/dev/pts"
  ln -s pts/ptmx "$root/dev/ptmx"
  mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs "$root/dev/shm"
  ln -s /proc/self/fd "$root/dev/fd"
  ln -s /proc/self/fd/0 "$root/dev/stdin"
  ln -s /proc/self/fd/1 "$root/dev/stdout"
  ln -s /proc/self/fd/2 "$root/dev/stderr"
  if ! mountpoint -q "$root/run"; then mount -t tmpfs -o mode=755,nosuid,nodev tmpfs "$root/run"; fi
  mkdir -p "$root/run/lock"
}

in_ns() { # in_ns ROOT ro|rw COMMAND...
  unshare --mount --uts --ipc --pid --fork --kill-child --propagation private "$SELF" __ns "$@"
}

# ---------------------------------------------------------------------------------------------
# 1. The base root: Debian bookworm minbase + cloud-init + openssh-server, plus what the image
# has and cloud-init uses: systemd (its systemctl) and locales with LANG=C.UTF-8 as Debian's
# cloud images set it (else cc_locale wants en_US.UTF-8, which minbase cannot generate, and the
# config stage fails). Cached as a tarball keyed by BASE_RECIPE.

ensure_base() {
  [[ -f "$BASE_TARBALL" ]] && return 0
  install -d -m 755 "$CACHE_DIR"
  exec 9>"$CACHE_DIR/.lock"
  flock 9 # one build at a time; the next waiter finds the tarball
  if [[ -f "$BASE_TARBALL" ]]; then exec 9>&-; return 0; fi
  command -v debootstrap >/dev/null 2>&1 || {
    log "installing debootstrap"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
  }
  local work=$CACHE_DIR/build.$$ t0
  t0=$(millis)
  rm -rf --one-file-system "$work"
  mkdir -p "$work/root"
  log "building the base root (debootstrap $SUITE minbase, then cloud-init; log: $work.log)"
  # In its own mount namespace: debootstrap's /proc and /sys mounts vanish even if it fails.
  if ! unshare --mount --uts --pid --fork --kill-child --propagation private \
    debootstrap --variant=minbase "$SUITE" "$work/root" "$MIRROR" >"$work.log" 2>&1; then
    tail -n 20 "$work.log" >&2
    rm -rf --one-file-system "$work"
    die "debootstrap failed (log: $work.log)"
  fi
  local r=$work/root
  # The sources a Debian cloud image has (cloud-init's apt_configure may rewrite them anyway).
  cat >"$r/etc/apt/sources.list" <<EOF
deb $MIRROR $SUITE main
deb $MIRROR $SUITE-updates main
deb http://deb.debian.org/debian-security $SUITE-security main
EOF
  cp /etc/resolv.conf "$r/etc/resolv.conf"
  printf '#!/bin/sh\nexit 101\n' >"$r/usr/sbin/policy-rc.d" # no daemon starts while building
  chmod 755 "$r/usr/sbin/policy-rc.d"
  # cloud-init after debootstrap: --include does not resolve its virtual dependencies.
  if ! in_ns "$r" ro chroot "$r" /bin/sh -c 'apt-get update -q &&
      DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
        cloud-init openssh-server systemd locales &&
      apt-get clean' >>"$work.log" 2>&1; then
    tail -n 20 "$work.log" >&2
    rm -rf --one-file-system "$work"
    die "installing cloud-init into the base failed (log: $work.log)"
  fi
  # Like an image: no host keys (each instance gets its own), no machine id, no lists.
  rm -f "$r"/etc/ssh/ssh_host_* "$r/usr/sbin/policy-rc.d" "$r/etc/resolv.conf"
  rm -rf "$r"/var/lib/apt/lists/* "$r"/var/log/apt/* "$r"/var/cache/apt/*.bin
  : >"$r/etc/machine-id"
  printf 'LANG=C.UTF-8\n' >"$r/etc/default/locale"
  [[ -z "$(mounts_under "$work")" ]] || die "mounts left under $work"
  tar -C "$r" --numeric-owner -cf "$BASE_TARBALL.tmp" .
  mv "$BASE_TARBALL.tmp" "$BASE_TARBALL"
  rm -rf --one-file-system "$work"
  log "TIME base: built $BASE_TARBALL in $(seconds_since "$t0") (cold)"
  exec 9>&-
}

# ---------------------------------------------------------------------------------------------
# 2./3. Seed NoCloud and run cloud-init's four stages in the chroot.

seed() {
  local user_data=$1 d=$ROOT/var/lib/cloud/seed/nocloud
  install -d -m 755 "$d"
  install -m 600 "$user_data" "$d/user-data"
  printf 'instance-id: %s-%s\nlocal-hostname: %s\n' "$NAME" "$(date +%s)" "$NAME" >"$d/meta-data"
  printf 'datasource_list: [ NoCloud, None ]\n' >"$ROOT/etc/cloud/cloud.cfg.d/90-datasource.cfg"
  # The network is ours (the netns): cloud-init must not render or rename this machine's NICs,
  # which it would see while provisioning.
  printf 'network: {config: disabled}\n' >"$ROOT/etc/cloud/cloud.cfg.d/91-permacoop-vm-hosts-network.cfg"
  cp /etc/resolv.conf "$ROOT/etc/resolv.conf" # apt inside the chroot resolves like this machine
  # Provisioning runs in this machine's network namespace (apt needs the mirror): no daemon may
  # start there. policy-rc.d stops package scripts; sshd_not_to_be_run stops /etc/init.d/ssh,
  # which cloud-init's set_passwords calls ("service ssh restart") when systemd is not running.
  printf '#!/bin/sh\nexit 101\n' >"$ROOT/usr/sbin/policy-rc.d"
  chmod 755 "$ROOT/usr/sbin/policy-rc.d"
  : >"$ROOT/etc/ssh/sshd_not_to_be_run"
}

# Runs inside in_ns: the four stages in one namespace (their /run state carries over, as on a
# boot), each timed; a failing stage is recorded, the checks afterwards decide.
stages_main() {
  local root=$1 out=$2 stage t0 rc failed=0
  : >"$out"
  for stage in "init --local" "init" "modules --mode config" "modules --mode final"; do
    t0=$(millis)
    rc=0
    # shellcheck disable=SC2086 # the stage is words
    chroot "$root" /usr/bin/cloud-init $stage >>"$STATE_DIR/cloud-init-stages.log" 2>&1 || rc=$?
    printf 'STAGE cloud-init %s: rc=%s %s\n' "$stage" "$rc" "$(seconds_since "$t0")" | tee -a "$out" >&2
    ((rc == 0)) || failed=1
  done
  return "$failed"
}

# What the user data asked for, checked inside the root with its own python3 + yaml.
provision_checks() {
  chroot "$ROOT" /usr/bin/python3 - <<'PY'
import grp, os, pwd, subprocess, sys, yaml

ud = yaml.safe_load(open("/var/lib/cloud/seed/nocloud/user-data"))
fails = []
def ok(cond, what):
    print(("CHECK ok: " if cond else "CHECK FAILED: ") + what)
    if not cond:
        fails.append(what)

for p in ud.get("packages", []):
    st = subprocess.run(["dpkg-query", "-W", "-f=${Status}", p], capture_output=True, text=True).stdout
    ok(st == "install ok installed", f"package {p} installed")
if "docker.io" in ud.get("packages", []):
    ok(os.access("/usr/sbin/dockerd", os.X_OK) and os.access("/usr/bin/docker", os.X_OK), "dockerd and docker binaries")
for u in ud.get("users", []):
    if not isinstance(u, dict):
        continue
    try:
        pw = pwd.getpwnam(u["name"])
    except KeyError:
        ok(False, f"user {u['name']} exists")
        continue
    ok(True, f"user {u['name']} exists")
    for g in u.get("groups", []):
        ok(u["name"] in grp.getgrnam(g).gr_mem, f"user {u['name']} in group {g}")
    if "shell" in u:
        ok(pw.pw_shell == u["shell"], f"user {u['name']} shell {u['shell']}")
    ak = os.path.join(pw.pw_dir, ".ssh/authorized_keys")
    have = open(ak).read().splitlines() if os.path.exists(ak) else []
    for k in u.get("ssh_authorized_keys", []):
        ok(k.strip() in [h.strip() for h in have], f"user {u['name']} authorised key {k.split()[-1]}")
for name, text in (ud.get("ssh_keys") or {}).items():
    kind, _, part = name.rpartition("_")
    path = f"/etc/ssh/ssh_host_{kind}_key" + (".pub" if part == "public" else "")
    have = open(path).read().strip() if os.path.exists(path) else ""
    ok(have == text.strip(), f"pinned host key {path}")
if "hostname" in ud:
    ok(open("/etc/hostname").read().strip() == ud["hostname"], f"hostname {ud['hostname']}")
for c in ud.get("runcmd", []):
    if isinstance(c, list) and c[0] == "touch":
        for f in c[1:]:
            ok(os.path.exists(f), f"runcmd marker {f}")
    if isinstance(c, list) and c[0] == "systemctl":
        print("SYSTEMCTL (systemd's job; played by the boot here): " + " ".join(c))
sys.exit(1 if fails else 0)
PY
}

provision() {
  local t0 rc=0
  t0=$(millis)
  in_ns "$ROOT" ro "$SELF" __stages "$NAME" "$ROOT" "$STATE_DIR/stages" || rc=$?
  log "TIME cloud-init: four stages in $(seconds_since "$t0")"
  # Keep the logs beside the root's (they are also at CLOUD_INIT_LOG).
  cp "$ROOT/var/log/cloud-init.log" "$ROOT/var/log/cloud-init-output.log" "$STATE_DIR/" 2>/dev/null || true
  # What failed without systemd (runcmd's systemctl lines; its script names no command, the
  # unit names come from systemctl's own lines before), and cloud-init's warnings. Shown only:
  # the stages' exit codes and the checks below decide.
  {
    grep -E 'systemd-sysv-install enable|System has not been booted|Failed to connect to bus|ignoring command' \
      "$STATE_DIR/cloud-init-output.log" || true
    grep -E '\[WARNING\]' "$STATE_DIR/cloud-init.log" || true
  } >"$STATE_DIR/failures" 2>/dev/null
  if [[ -s "$STATE_DIR/failures" ]]; then
    log "cloud-init: what failed without systemd, and warnings:"
    sed 's/^/    /' "$STATE_DIR/failures" >&2
  fi
  if ! provision_checks >"$STATE_DIR/checks" 2>&1 || ((rc)); then
    cat "$STATE_DIR/checks" >&2
    tail -n 30 "$STATE_DIR/cloud-init-output.log" >&2 || true
    die "provisioning of $NAME did not give what the user data asks (logs: $STATE_DIR)"
  fi
  sed 's/^/    /' "$STATE_DIR/checks" >&2
  # A VM has neither: they only kept daemons out of this machine's network namespace.
  rm -f "$ROOT/usr/sbin/policy-rc.d" "$ROOT/etc/ssh/sshd_not_to_be_run"
}

# ---------------------------------------------------------------------------------------------
# 4. Network and "boot".

up_network() {
  if [[ ! -e "$NETNS_PATH" ]]; then ip netns add "$NETNS"; fi
  if ! ip link show dev "$VETH" >/dev/null 2>&1; then
    # The host side is created directly inside the namespace, named eth0 as on a machine.
    ip link add "$VETH" type veth peer name eth0 netns "$NETNS"
    ip link set dev "$VETH" alias "$NETNS"
    ip addr add "$RUNNER_ADDRESS/24" dev "$VETH"
    ip link set dev "$VETH" up
  fi
  ip -n "$NETNS" link set lo up
  if ! ip -n "$NETNS" -4 addr show dev eth0 | grep -q "inet $ADDRESS/24"; then
    ip -n "$NETNS" addr add "$ADDRESS/24" dev eth0
  fi
  ip -n "$NETNS" link set eth0 up
  # No default route and no NAT: the only peer is the runner, on the connected /24.
}

# PID 1 of the host's pid namespace (inside its netns and a private mount namespace): plays
# what systemd would start. Its own host pid goes to INIT_PID (read through this machine's
# /proc, still mounted here), so `down` can stop it; when it exits, the kernel kills every
# process left in the namespace, and the private mounts go with them.
init_main() {
  local host_pid _ dockerd_pid
  read -r host_pid _ </proc/self/stat
  printf '%s\n' "$host_pid" >"$INIT_PID"
  exec 3>>"$STATE_DIR/dockerd.log" # outside the root: open it now
  mount --rbind "$ROOT" "$ROOT" # pivot_root needs a mount point
  mount_basics "$ROOT" rw       # sysfs now of the netns: eth0 and lo only
  # cgroups for dockerd/runc: this machine's hierarchies (v1 + unified here), rbound.
  mount --rbind /sys/fs/cgroup "$ROOT/sys/fs/cgroup"
  hostname "$(cat "$ROOT/etc/hostname")"
  # The root becomes this namespace's root (pivot_root, not chroot): runc clones and joins
  # mount namespaces, which start at the namespace's root. Under a chroot, a container's
  # namespace saw this machine's / (its /run) and `docker exec` ended up beside the container.
  mkdir -p "$ROOT/.host-root"
  cd "$ROOT"
  pivot_root . .host-root
  cd /
  umount -l /.host-root
  rmdir /.host-root
  mkdir -p /run/sshd # systemd's RuntimeDirectory of ssh.service
  # dockerd as docker.service would (its own containerd; the default socket
  # /var/run/docker.sock, group docker); sshd with the config cloud-init wrote (-E: no syslog).
  /usr/sbin/dockerd >&3 2>&1 &
  dockerd_pid=$!
  /usr/sbin/sshd -E /var/log/sshd.log
  /usr/sbin/cron
  # shellcheck disable=SC2317,SC2329 # reached through the trap
  shutdown() {
    local p
    for p in /run/sshd.pid /run/crond.pid; do
      [[ -s "$p" ]] && kill -TERM "$(<"$p")" 2>/dev/null
    done
    kill -TERM "$dockerd_pid" 2>/dev/null
    # dockerd stops its containers and containerd; the namespace's end kills the rest.
    for _ in $(seq 1 250); do kill -0 "$dockerd_pid" 2>/dev/null || break; sleep 0.1; done
    exit 0
  }
  trap shutdown TERM INT
  while true; do
    sleep 1 &
    wait $! || true
  done
}

boot() {
  log "booting $NAME: dockerd, sshd, cron of the root in $NETNS (logs: $STATE_DIR)"
  # The root's /run: a tmpfs as on a VM, mounted here so the runner reaches the socket in it.
  mount -t tmpfs -o mode=755,nosuid,nodev tmpfs "$ROOT/run"
  rm -f "$INIT_PID"
  setsid -f nsenter --net="$NETNS_PATH" \
    unshare --mount --uts --ipc --pid --fork --kill-child --propagation private \
    "$SELF" __init "$NAME" </dev/null >>"$STATE_DIR/init.log" 2>&1
  wait_ready
}

wait_ready() {
  local i docker_ok=0 ssh_ok=0
  for i in $(seq 1 300); do
    ((docker_ok)) || { docker -H "$DOCKER_URL" info >/dev/null 2>&1 && docker_ok=1; }
    ((ssh_ok)) || { timeout 1 bash -c "exec 3<>/dev/tcp/$ADDRESS/$SSH_PORT" 2>/dev/null && ssh_ok=1; }
    ((docker_ok && ssh_ok)) && return 0
    if ((i > 50)) && ! init_pid >/dev/null; then break; fi
    sleep 0.2
  done
  tail -n 20 "$STATE_DIR/init.log" "$STATE_DIR/dockerd.log" "$ROOT/var/log/sshd.log" >&2 2>/dev/null || true
  die "host $NAME did not come up (docker answers: $docker_ok, sshd answers: $ssh_ok)"
}

facts() {
  printf 'NAME=%s\n' "$NAME"
  printf 'ADDRESS=%s\n' "$ADDRESS"
  printf 'RUNNER_ADDRESS=%s\n' "$RUNNER_ADDRESS"
  printf 'SSH_PORT=%s\n' "$SSH_PORT"
  printf 'HOST_KEY=%s\n' "$(cut -d' ' -f1,2 "$ROOT/etc/ssh/ssh_host_ed25519_key.pub")"
  printf 'ROOT=%s\n' "$ROOT"
  printf 'DOCKER_HOST=%s\n' "$DOCKER_URL"
  printf 'CLOUD_INIT_LOG=%s\n' "$ROOT/var/log/cloud-init.log"
  printf 'CLOUD_INIT_OUTPUT_LOG=%s\n' "$ROOT/var/log/cloud-init-output.log"
  printf 'STATE_DIR=%s\n' "$STATE_DIR"
  printf 'BASE=%s\n' "$BASE_TARBALL"
  printf 'NETNS=%s\n' "$NETNS"
}

cmd_up() {
  [[ $# -eq 3 ]] || usage
  require_root
  set_names "$1"
  set_index "$2"
  local user_data=$3 t_up alias
  [[ -f "$user_data" && -r "$user_data" ]] || die "no user data file: $user_data"
  if [[ -s "$STATE_DIR/index" && "$(<"$STATE_DIR/index")" != "$INDEX" ]]; then
    die "host $NAME is already up with INDEX $(<"$STATE_DIR/index"): run down $NAME first"
  fi
  if init_pid >/dev/null; then
    wait_ready
    log "host $NAME is already up"
    facts
    return 0
  fi
  # Refuse before creating anything when INDEX is taken (by another VM host or a test host).
  alias=$(cat "/sys/class/net/$VETH/ifalias" 2>/dev/null || true)
  if [[ -e "/sys/class/net/$VETH" && "$alias" != "$NETNS" ]]; then
    die "INDEX $INDEX is taken: interface $VETH belongs to '${alias:-?}'"
  fi
  if ip -o -4 addr show | grep -v " $VETH " | grep -q "inet $RUNNER_ADDRESS/"; then
    die "INDEX $INDEX is taken: $RUNNER_ADDRESS is on another interface (a test host?)"
  fi
  # Left over from a failed up: every up starts from a fresh root.
  if [[ -e "$LIB_DIR" || -e "$NETNS_PATH" ]]; then
    log "host $NAME is not running: removing what is left of it first"
    cmd_down "$NAME"
  fi
  t_up=$(millis)
  local t0
  t0=$(millis)
  ensure_base
  log "TIME base: ready in $(seconds_since "$t0")"
  install -d -m 755 "$LIB_BASE" "$LIB_DIR" "$ROOT"
  install -d -m 700 "$STATE_DIR"
  printf '%s\n' "$INDEX" >"$STATE_DIR/index"
  t0=$(millis)
  tar -C "$ROOT" --numeric-owner -xpf "$BASE_TARBALL"
  log "TIME root: fresh copy in $(seconds_since "$t0")"
  # What the image lacks, recorded before cloud-init runs.
  {
    for f in usr/bin/docker usr/sbin/dockerd usr/sbin/cron; do
      if [[ -e "$ROOT/$f" ]]; then echo "present: /$f"; else echo "absent: /$f"; fi
    done
    cut -d: -f1 "$ROOT/etc/passwd" | tr '\n' ' ' | sed 's/^/users: /;s/ $/\n/'
  } >"$STATE_DIR/base-before"
  seed "$user_data"
  provision
  up_network
  t0=$(millis)
  boot
  log "TIME boot: dockerd and sshd answer after $(seconds_since "$t0")"
  log "TIME up: $(seconds_since "$t_up")"
  facts
}

cmd_load() {
  [[ $# -ge 2 ]] || usage
  require_root
  set_names "$1"
  shift
  load_images "VM host" "$@"
}

cmd_down() {
  [[ $# -eq 1 ]] || usage
  require_root
  set_names "$1"
  local pid ids link mnt left
  # 1. Containers (their engine removes their cgroups), then the init: it stops sshd, cron and
  # dockerd, and its exit ends the pid namespace (every other process) and the private mounts.
  if pid=$(init_pid); then
    if docker -H "$DOCKER_URL" info >/dev/null 2>&1; then
      mapfile -t ids < <(docker -H "$DOCKER_URL" ps -aq)
      if ((${#ids[@]})); then docker -H "$DOCKER_URL" rm -f "${ids[@]}" >/dev/null || true; fi
    fi
    kill -TERM "$pid" 2>/dev/null || true
    if ! wait_gone "$pid" 400; then
      log "init of $NAME ($pid) outlived 40 s: killing it"
      kill -KILL "$pid" 2>/dev/null || true
      wait_gone "$pid" 100 || true
    fi
  fi
  # 2. Stragglers (a crashed up): anything chrooted into the root, or in the netns.
  if [[ -d "$ROOT" ]]; then
    for pid in $(pids_rooted_in "$ROOT"); do kill -KILL "$pid" 2>/dev/null || true; done
  fi
  if [[ -e "$NETNS_PATH" ]]; then
    for pid in $(ip netns pids "$NETNS" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
  fi
  for pid in $(pids_rooted_in "$ROOT") $( [[ -e "$NETNS_PATH" ]] && ip netns pids "$NETNS" 2>/dev/null); do
    wait_gone "$pid" 50 || true
  done
  # 3. This machine's mounts under the host (the root's /run), deepest first.
  for mnt in $(mounts_under "$LIB_DIR"); do
    umount "$mnt" 2>/dev/null || umount -l "$mnt" 2>/dev/null || true
  done
  # 4. Network: deleting the namespace deletes eth0 and its veth peer; a peer left without its
  # namespace is found by its alias.
  if [[ -e "$NETNS_PATH" ]]; then ip netns del "$NETNS"; fi
  for link in /sys/class/net/pcvm*; do
    [[ -e "$link" ]] || continue
    if [[ "$(cat "$link/ifalias" 2>/dev/null)" == "$NETNS" ]]; then ip link del "${link##*/}" 2>/dev/null || true; fi
  done
  # 5. Files, only once nothing is mounted there (rm must never reach through a bind mount).
  left=$(mounts_under "$LIB_DIR")
  [[ -z "$left" ]] || die "still mounted, not removing $LIB_DIR: $left"
  rm -rf --one-file-system "$LIB_DIR"
  rmdir "$LIB_BASE" 2>/dev/null || true
  [[ -z "$(pids_rooted_in "$ROOT")" ]] || die "processes of $NAME are still alive"
  [[ ! -e "$LIB_DIR" ]] || die "could not remove $LIB_DIR"
  log "VM host $NAME is gone"
}

case "${1:-}" in
  up) shift; cmd_up "$@" ;;
  load) shift; cmd_load "$@" ;;
  down) shift; cmd_down "$@" ;;
  # Internal: run inside the namespaces created above.
  __ns) shift; ns_main "$@" ;;
  __stages) shift; set_names "$1"; stages_main "$2" "$3" ;;
  __init) shift; set_names "$1"; init_main ;;
  *) usage ;;
esac
