#!/usr/bin/env bash
# Self-test of tools/vm-hosts.sh (as root): renders the program's OWN cloud-init user data and
# SSH keys (components/host/cloudInit.ts, sshKeys.ts, fixed seeds), provisions VM host
# "selftest" (INDEX 7) with the real cloud-init from it, then proves: the base root lacked what
# cloud-init installs; ssh as the deploy user with the program's key reaches the host only
# when the pinned host key is the one presented; the deploy user's docker is the engine
# cloud-init installed (in the docker group); load brings an image there; the done marker
# exists; `down` leaves nothing. Leaves the main engine untouched (reads, and `docker save`).
# Keeps the cloud-init logs in $VM_SELFTEST_LOGS (default /var/tmp/permacoop-vm-selftest).
# Usage: tools/vm-hosts.selftest.sh
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
VH=$HERE/vm-hosts.sh
NAME=selftest
INDEX=7
ADDRESS=10.231.$INDEX.2
IMAGE=permacoop/debian-base:bookworm
KEEP=${VM_SELFTEST_LOGS:-/var/tmp/permacoop-vm-selftest}
TMP=$(mktemp -d)
# shellcheck source=tools/selftest.lib.sh
source "$(dirname "$(readlink -f "$0")")/selftest.lib.sh"

cleanup() {
  "$VH" down "$NAME" >/dev/null 2>&1 || true
  rm -f /run/permacoop-vm-selftest-marker
  rm -rf "$TMP"
}
trap cleanup EXIT

fact() { sed -n "s/^$1=//p" "$TMP/facts"; }
millis() { date +%s%3N; }

nothing_left() {
  local left=()
  ip netns list | grep -qw "pc-vm-$NAME" && left+=("netns pc-vm-$NAME")
  ip link show dev "pcvm$INDEX" >/dev/null 2>&1 && left+=("veth pcvm$INDEX")
  [[ -e "/var/lib/permacoop-vm-hosts/$NAME" ]] && left+=("/var/lib/permacoop-vm-hosts/$NAME")
  grep -q "permacoop-vm-hosts/$NAME" /proc/mounts && left+=("mounts")
  pgrep -f "vm-hosts.sh __init $NAME" >/dev/null && left+=("init process")
  local f r
  for f in /proc/[0-9]*/root; do
    r=$(readlink "$f" 2>/dev/null) || continue
    [[ "$r" == "/var/lib/permacoop-vm-hosts/$NAME/"* ]] && left+=("process ${f//[^0-9]/} rooted in $r")
  done
  if ((${#left[@]})); then
    printf '  left: %s\n' "${left[@]}"
    return 1
  fi
}

check "clean slate before up (nothing of host $NAME exists)" nothing_left
docker image inspect "$IMAGE" >/dev/null 2>&1 || "$HERE/base-image.sh" "$IMAGE"

# --- the program's own user data and keys (fixed seeds) ------------------------------------
(
  cd "$REPO"
  # shellcheck disable=SC2016 # TypeScript, not shell
  OUT=$TMP npx ts-node --transpile-only -e '
    import { createHash } from "node:crypto";
    import { writeFileSync } from "node:fs";
    import { renderCloudInit } from "./components/host/cloudInit";
    import { ed25519KeyPair } from "./components/host/sshKeys";
    const seed = (label: string) => createHash("sha256").update(`vm-hosts selftest ${label}`).digest();
    const deploy = ed25519KeyPair(seed("deploy"), "deploy@permacoop");
    const host = ed25519KeyPair(seed("host"), "vm-selftest-host");
    const other = ed25519KeyPair(seed("other host"), "not-the-host");
    const out = process.env.OUT as string;
    writeFileSync(`${out}/user-data`, renderCloudInit({
      deployUser: "deploy", sshPublicKeys: [deploy.publicKey], hostname: "vm-selftest-host", hostKey: host,
    }));
    writeFileSync(`${out}/deploy_key`, deploy.privateKey, { mode: 0o600 });
    const line = (k: string) => `10.231.7.2 ${k.split(" ").slice(0, 2).join(" ")}\n`;
    writeFileSync(`${out}/known_hosts`, line(host.publicKey));
    writeFileSync(`${out}/known_hosts.wrong`, line(other.publicKey));
  '
)
check "user data rendered by renderCloudInit (#cloud-config, deploy user, pinned key)" \
  grep -q '^#cloud-config' "$TMP/user-data"
grep -q 'ed25519_private' "$TMP/user-data" || fail "user data pins no host key"
check "deploy key is mode 600" test "$(stat -c %a "$TMP/deploy_key")" = 600

# --- up ----------------------------------------------------------------------------------
HOSTNAME_BEFORE=$(hostname)
t0=$(millis)
if ! "$VH" up "$NAME" "$INDEX" "$TMP/user-data" >"$TMP/facts" 2>"$TMP/up.err"; then
  cat "$TMP/up.err"
  fail "up $NAME $INDEX"
  printf 'RESULT: up failed\n'
  exit 1
fi
t1=$(millis)
"$VH" up "$NAME" "$INDEX" "$TMP/user-data" >"$TMP/facts2" 2>/dev/null
t2=$(millis)
sed -n 's/^\[vm-hosts\] TIME /TIME: /p;s/^STAGE /TIME: stage /p' "$TMP/up.err"
printf 'TIME: up %s ms, second up (no-op) %s ms\n' $((t1 - t0)) $((t2 - t1))
sed -n '/cloud-init: what failed without systemd/,/^\[vm-hosts\] [^ ]/p' "$TMP/up.err" | sed '1d;$d' | sed 's/^ */INFO: /'
check "second up prints the same facts" cmp -s "$TMP/facts" "$TMP/facts2"
sed 's/^/  /' "$TMP/facts"
ROOT=$(fact ROOT)
STATE_DIR=$(fact STATE_DIR)
HOST_DOCKER=$(fact DOCKER_HOST)
BASE=$(fact BASE)
check "facts are complete" test -n "$ROOT" -a -n "$HOST_DOCKER" -a "$(fact ADDRESS)" = "$ADDRESS" \
  -a "$(fact RUNNER_ADDRESS)" = "10.231.$INDEX.1" -a "$(fact SSH_PORT)" = 22 -a -f "$(fact CLOUD_INIT_LOG)"
check "this machine's hostname is unchanged (cloud-init ran in its own UTS namespace)" \
  test "$(hostname)" = "$HOSTNAME_BEFORE"
check "no default route in the host's namespace" test -z "$(ip -n "pc-vm-$NAME" route show default)"

install -d -m 700 "$KEEP" # the user data holds the (test) host private key
cp "$ROOT/var/log/cloud-init.log" "$ROOT/var/log/cloud-init-output.log" "$TMP/user-data" "$KEEP/" 2>/dev/null || true
cp "$STATE_DIR/checks" "$STATE_DIR/stages" "$STATE_DIR/base-before" "$KEEP/" 2>/dev/null || true
printf 'INFO: cloud-init logs kept in %s\n' "$KEEP"

# --- the base root, before cloud-init ------------------------------------------------------
check "base had no docker/dockerd binary (recorded before provisioning)" \
  grep -qx 'absent: /usr/bin/docker' "$STATE_DIR/base-before"
grep -qx 'absent: /usr/sbin/dockerd' "$STATE_DIR/base-before" || fail "base had dockerd"
check "base had no deploy user (recorded before provisioning)" bash -c "! grep -qw deploy '$STATE_DIR/base-before'"
check "cached base tarball has no docker, dockerd, cron or deploy user" \
  bash -c "! tar -tf '$BASE' | grep -qE '^\./usr/(s?bin)/(docker|dockerd|cron)\$' && ! tar -xOf '$BASE' ./etc/passwd | grep -q '^deploy:'"
check "cloud-init's checks of the user data passed (docker.io, deploy user, keys, marker)" \
  bash -c "! grep -q 'CHECK FAILED' '$STATE_DIR/checks' && grep -q 'CHECK ok: user deploy in group docker' '$STATE_DIR/checks'"

# --- ssh as the deploy user, host key pinned -----------------------------------------------
hssh() { # hssh KNOWN_HOSTS COMMAND...
  local kh=$1
  shift
  ssh -i "$TMP/deploy_key" -o IdentitiesOnly=yes -o BatchMode=yes -o ConnectTimeout=10 \
    -o StrictHostKeyChecking=yes -o UserKnownHostsFile="$kh" -o GlobalKnownHostsFile=/dev/null \
    "deploy@$ADDRESS" "$@"
}
version=$(hssh "$TMP/known_hosts" "docker info --format '{{.ServerVersion}}'" 2>"$TMP/ssh.err") || cat "$TMP/ssh.err"
check "ssh deploy@$ADDRESS with the pinned host key: docker info answers ($version)" test -n "$version"
root_dir=$(hssh "$TMP/known_hosts" "docker info --format '{{.DockerRootDir}}'" 2>/dev/null || true)
check "the deploy user's engine is the root's own (DockerRootDir $root_dir inside the root)" \
  test "$root_dir" = /var/lib/docker -a -d "$ROOT/var/lib/docker/image"
check "it is the docker.io cloud-init installed ($version = the root's package)" \
  bash -c "chroot '$ROOT' dpkg-query -W -f='\${Version}' docker.io | grep -q '^$version'"
groups=$(hssh "$TMP/known_hosts" id -nG 2>/dev/null || true)
check "id -nG of deploy includes docker ($groups)" grep -qw docker <<<"$groups"
if hssh "$TMP/known_hosts.wrong" true 2>"$TMP/wrong.err"; then
  fail "ssh: a wrong pinned host key is refused"
else
  check "ssh: a wrong pinned host key is refused" grep -qiE 'host key|IDENTIFICATION HAS CHANGED' "$TMP/wrong.err"
fi
if ssh -i "$TMP/deploy_key" -o IdentitiesOnly=yes -o BatchMode=yes -o ConnectTimeout=10 -o StrictHostKeyChecking=yes \
  -o UserKnownHostsFile="$TMP/known_hosts" -o GlobalKnownHostsFile=/dev/null "root@$ADDRESS" true 2>/dev/null; then
  fail "ssh: root login is refused"
else
  pass "ssh: root login is refused"
fi
check "done marker /var/lib/permacoop/cloud-init.done" hssh "$TMP/known_hosts" test -f /var/lib/permacoop/cloud-init.done

# --- load ----------------------------------------------------------------------------------
MAIN_ID=$(docker image inspect --format '{{.Id}}' "$IMAGE")
check "host engine has no images before load" test -z "$(docker -H "$HOST_DOCKER" image ls -q)"
t0=$(millis)
"$VH" load "$NAME" "$IMAGE" >/dev/null 2>&1
printf 'TIME: load %s %s ms\n' "$IMAGE" $(($(millis) - t0))
listed=$(hssh "$TMP/known_hosts" "docker image ls --format '{{.Repository}}:{{.Tag}}'" 2>/dev/null || true)
check "ssh … docker image ls shows $IMAGE" grep -qx "$IMAGE" <<<"$listed"
check "same image id as on the main engine" test "$(docker -H "$HOST_DOCKER" image inspect --format '{{.Id}}' "$IMAGE")" = "$MAIN_ID"
run_out=$(hssh "$TMP/known_hosts" "docker run --rm --network none $IMAGE cat /etc/debian_version" 2>&1 || true)
check "a container runs on the host's engine (runc under nsenter --net + chroot): $run_out" grep -qE '^12' <<<"$run_out"

touch /run/permacoop-vm-selftest-marker
# --- isolation: a container of the host is a container of THAT machine ----------------------
# Its mount namespace is rooted in its own image (not in this machine's /run), and docker exec
# joins the very namespace of the container's init (a socket made by the init is reachable).
# shellcheck disable=SC2016 # expanded in the container
hssh "$TMP/known_hosts" "docker run -d --name iso --network none $IMAGE sh -c 'mkdir -p /run/iso && echo from-init >/run/iso/mark && exec sleep 300'" >/dev/null 2>&1 || true
for _ in $(seq 1 50); do
  mark=$(hssh "$TMP/known_hosts" "docker exec iso cat /run/iso/mark" 2>/dev/null || true)
  [[ "$mark" == from-init ]] && break
  sleep 0.1
done
check "docker exec sees what the container's init wrote in its /run ($mark)" test "$mark" = from-init
# shellcheck disable=SC2016 # expanded in the container
same=$(hssh "$TMP/known_hosts" 'docker exec iso sh -c "test \$(readlink /proc/1/ns/mnt) = \$(readlink /proc/self/ns/mnt) && echo same"' 2>/dev/null || true)
check "docker exec joins the mount namespace of the container's init ($same)" test "$same" = same
sees_machine_run() { # the marker exists only in THIS machine's /run
  local out
  out=$(hssh "$TMP/known_hosts" "docker exec iso ls -a /run" 2>/dev/null) || return 1
  grep -qx permacoop-vm-selftest-marker <<<"$out"
}
check "the container does not see this machine's /run" bash -c "$(declare -f hssh sees_machine_run); TMP='$TMP' ADDRESS=$ADDRESS; ! sees_machine_run"
[[ -e /run/iso ]] && fail "the container's /run/iso appeared on this machine"

# --- down: nothing left --------------------------------------------------------------------
t0=$(millis)
"$VH" down "$NAME" 2>/dev/null
printf 'TIME: down %s ms\n' $(($(millis) - t0))
check "nothing of host $NAME is left after down" nothing_left
check "down again is a no-op without error" "$VH" down "$NAME"

if ((FAILS)); then
  printf 'RESULT: %d check(s) failed\n' "$FAILS"
  exit 1
fi
printf 'RESULT: all checks passed\n'
