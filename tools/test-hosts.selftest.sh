#!/usr/bin/env bash
# Self-test of tools/test-hosts.sh (as root): brings test host "a" up (twice: the second is a
# no-op), proves its engine is separate from the main one (empty, then only what `load` put
# there), that ssh with the pinned host key reaches its engine and not the main one, that a
# published port answers at its address, and that `down` leaves nothing behind.
# Leaves the main engine untouched: reads only, besides `docker save`.
# Usage: tools/test-hosts.selftest.sh
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
TH=$HERE/test-hosts.sh
NAME=a
INDEX=1
PORT=8080
TMP=$(mktemp -d)
# shellcheck source=tools/selftest.lib.sh
source "$(dirname "$(readlink -f "$0")")/selftest.lib.sh"

cleanup() {
  "$TH" down b >/dev/null 2>&1 || true
  "$TH" down "$NAME" >/dev/null 2>&1 || true
  rm -rf "$TMP"
}
trap cleanup EXIT

# Facts are KEY=value lines; read them without eval (HOST_KEY holds a space).
fact() { sed -n "s/^$1=//p" "$TMP/facts"; }

# What must be absent once host "a" is down (also before the first up: a clean slate).
nothing_left() {
  local left=()
  ip netns list | grep -qw "pc-th-$NAME" && left+=("netns pc-th-$NAME")
  ip link show dev "pcth$INDEX" >/dev/null 2>&1 && left+=("veth pcth$INDEX")
  id -u "pc-th-$NAME" >/dev/null 2>&1 && left+=("user pc-th-$NAME")
  getent group "pc-th-$NAME" >/dev/null && left+=("group pc-th-$NAME")
  local d
  for d in "/var/lib/permacoop-test-hosts/$NAME" "/run/permacoop-test-hosts/$NAME" "/home/pc-th-$NAME"; do
    [[ -e "$d" ]] && left+=("$d")
  done
  pgrep -f "permacoop-test-hosts/$NAME/" >/dev/null && left+=("processes: $(pgrep -f "permacoop-test-hosts/$NAME/" | tr '\n' ' ')")
  findmnt -rn -o TARGET | grep -q "permacoop-test-hosts/$NAME" && left+=("mounts")
  if ((${#left[@]})); then
    printf '  left: %s\n' "${left[@]}"
    return 1
  fi
}

millis() { date +%s%3N; }

check "clean slate before up (nothing of host $NAME exists)" nothing_left
"$TH" check

t0=$(millis)
"$TH" up "$NAME" "$INDEX" >"$TMP/facts"
t1=$(millis)
"$TH" up "$NAME" "$INDEX" >"$TMP/facts2"
t2=$(millis)
printf 'TIME: up %s ms, second up (no-op) %s ms\n' $((t1 - t0)) $((t2 - t1))
check "second up prints the same facts" cmp -s "$TMP/facts" "$TMP/facts2"
sed 's/^/  /' "$TMP/facts"

ADDRESS=$(fact ADDRESS)
USER_=$(fact USER)
HOST_KEY=$(fact HOST_KEY)
CLIENT_KEY=$(fact CLIENT_KEY)
HOST_DOCKER=$(fact DOCKER_HOST)
DATA_ROOT=$(fact DATA_ROOT)
STATE_DIR=$(fact STATE_DIR)
check "facts are complete" test -n "$ADDRESS" -a -n "$USER_" -a -n "$HOST_KEY" -a -n "$CLIENT_KEY" \
  -a -n "$HOST_DOCKER" -a -n "$(fact SSH_PORT)" -a -n "$(fact RUNNER_ADDRESS)" -a -d "$STATE_DIR"
check "one dockerd and one sshd for the host after two ups" \
  test "$(pgrep -fc "dockerd .*--exec-root /run/permacoop-test-hosts/$NAME/exec")" = 1 \
  -a "$(pgrep -fc "sshd .*permacoop-test-hosts/$NAME/state/sshd_config")" = 1
check "no default route in the host's namespace (reaches only this machine)" \
  test -z "$(ip -n "pc-th-$NAME" route show default)"

check "up with another INDEX for a running host is refused" bash -c "! '$TH' up '$NAME' 2 >/dev/null 2>&1"
check "up of another host on a taken INDEX is refused, creating nothing" \
  bash -c "! '$TH' up b '$INDEX' >/dev/null 2>&1 && ! id -u pc-th-b >/dev/null 2>&1 && ! ip netns list | grep -qw pc-th-b"
# A second host beside it: neither can route to the other.
if "$TH" up b 2 >"$TMP/facts.b" 2>/dev/null; then
  check "a second host (b, INDEX 2) is not routable from host $NAME" bash -c "! ip -n 'pc-th-$NAME' route get 10.231.2.2 >/dev/null 2>&1"
  check "reach: host $NAME reaches this machine's side of b's link (10.231.2.1), still not b" \
    bash -c "'$TH' reach '$NAME' 10.231.2.1 2>/dev/null && ip -n 'pc-th-$NAME' route get 10.231.2.1 >/dev/null 2>&1 && ! ip -n 'pc-th-$NAME' route get 10.231.2.2 >/dev/null 2>&1"
  check "reach refuses an address that is not this machine's side of a link" bash -c "! '$TH' reach '$NAME' 10.231.2.2 >/dev/null 2>&1"
  "$TH" down b 2>/dev/null
else
  fail "a second host (b, INDEX 2) comes up"
fi

hdocker() { docker -H "$HOST_DOCKER" "$@"; }

# --- images: empty, then exactly what `load` brought ------------------------------------
check "test host engine has no images" test -z "$(hdocker image ls -q)"
check "main engine has images" test -n "$(docker image ls -q)"
# The smallest tagged image of the main engine.
IMAGE=$(docker image ls --format '{{.Repository}}:{{.Tag}}' | grep -v '<none>' |
  while read -r ref; do printf '%s %s\n' "$(docker image inspect --format '{{.Size}}' "$ref")" "$ref"; done |
  sort -n | head -n1 | cut -d' ' -f2)
MAIN_ID=$(docker image inspect --format '{{.Id}}' "$IMAGE")
printf 'INFO: loading %s (smallest image of the main engine)\n' "$IMAGE"
"$TH" load "$NAME" "$IMAGE" >/dev/null 2>&1
check "loaded image is on the test host" test "$(hdocker image inspect --format '{{.Id}}' "$IMAGE" 2>/dev/null)" = "$MAIN_ID"
check "test host has only that image" test "$(hdocker image ls -q | sort -u)" = "$(hdocker image inspect --format '{{.Id}}' "$IMAGE" | cut -c8-19)"
check "main engine unchanged (same image id for $IMAGE)" test "$(docker image inspect --format '{{.Id}}' "$IMAGE")" = "$MAIN_ID"

# --- ssh as the deploy user, host key pinned ----------------------------------------------
printf '%s %s\n' "$ADDRESS" "$HOST_KEY" >"$TMP/known_hosts"
hssh() {
  ssh -i "$CLIENT_KEY" -o IdentitiesOnly=yes -o BatchMode=yes -o ConnectTimeout=5 \
    -o StrictHostKeyChecking=yes -o UserKnownHostsFile="$TMP/known_hosts" "$USER_@$ADDRESS" "$@"
}
root_dir=$(hssh "docker info --format '{{.DockerRootDir}}'" 2>"$TMP/ssh.err") || cat "$TMP/ssh.err"
check "ssh: the deploy user's docker talks to the test host's engine ($root_dir)" test "$root_dir" = "$DATA_ROOT"
if hssh 'docker -H unix:///var/run/docker.sock info' >"$TMP/main.out" 2>&1; then
  fail "ssh: the deploy user reaches the main engine"
else
  check "ssh: the deploy user cannot reach the main engine (permission denied)" grep -q 'permission denied' "$TMP/main.out"
fi
ssh-keygen -q -t ed25519 -N '' -f "$TMP/other_host_key"
printf '%s %s\n' "$ADDRESS" "$(cut -d' ' -f1,2 "$TMP/other_host_key.pub")" >"$TMP/known_hosts.wrong"
if ssh -i "$CLIENT_KEY" -o IdentitiesOnly=yes -o BatchMode=yes -o ConnectTimeout=5 -o StrictHostKeyChecking=yes \
  -o UserKnownHostsFile="$TMP/known_hosts.wrong" "$USER_@$ADDRESS" true 2>/dev/null; then
  fail "ssh: a wrong pinned host key is refused"
else
  pass "ssh: a wrong pinned host key is refused"
fi
if ssh -i "$CLIENT_KEY" -o IdentitiesOnly=yes -o BatchMode=yes -o ConnectTimeout=5 -o StrictHostKeyChecking=yes \
  -o UserKnownHostsFile="$TMP/known_hosts" "root@$ADDRESS" true 2>/dev/null; then
  fail "ssh: root login is refused"
else
  pass "ssh: root login is refused"
fi

# --- a published port answers at the host's address ---------------------------------------
# A trivial HTTP server from whatever the loaded image has.
server=()
if hdocker run --rm "$IMAGE" sh -c 'command -v python3' >/dev/null 2>&1; then
  server=(python3 -m http.server 80)
elif hdocker run --rm "$IMAGE" sh -c 'command -v busybox' >/dev/null 2>&1; then
  server=(busybox httpd -f -p 80 -h /etc)
elif hdocker run --rm "$IMAGE" sh -c 'perl -MIO::Socket::INET -e1' >/dev/null 2>&1; then
  # shellcheck disable=SC2016 # perl code, not shell
  server=(perl -MIO::Socket::INET -e '$s = IO::Socket::INET->new(LocalPort => 80, Listen => 5, ReuseAddr => 1) or die $!;
    while ($c = $s->accept) { while (<$c>) { last if /^\r?$/ }
      print $c "HTTP/1.0 200 OK\r\nContent-Length: 18\r\n\r\nhello from host a\n"; close $c }')
fi
if ((${#server[@]})); then
  cid=$(hdocker run -d -p "$PORT:80" "$IMAGE" "${server[@]}")
  body=
  for _ in $(seq 1 50); do
    if body=$(curl -fsS --max-time 2 "http://$ADDRESS:$PORT/" 2>/dev/null); then break; fi
    sleep 0.2
  done
  check "published port answers at $ADDRESS:$PORT from the runner (${server[0]})" test -n "$body"
  check "main engine does not list the test host's container" \
    test -z "$(docker ps -a --no-trunc -q | grep -x "$cid" || true)"
  check "test host engine lists it" test -n "$(hdocker ps -q --no-trunc | grep -x "$cid" || true)"
else
  printf 'NOTE: %s has no python3, busybox or perl: publish check skipped\n' "$IMAGE"
fi

# --- down: nothing left --------------------------------------------------------------------
t0=$(millis)
"$TH" down "$NAME" 2>/dev/null
t1=$(millis)
printf 'TIME: down %s ms (with a running container)\n' $((t1 - t0))
check "nothing of host $NAME is left after down" nothing_left
check "down again is a no-op without error" "$TH" down "$NAME"

if ((FAILS)); then
  printf 'RESULT: %d check(s) failed\n' "$FAILS"
  exit 1
fi
printf 'RESULT: all checks passed\n'
