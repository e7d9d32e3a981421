# shellcheck shell=bash
# What the test and VM hosts share (tools/test-hosts.sh, tools/vm-hosts.sh): the processes they
# start (found by pidfile, waited for) and the one way an image reaches them.

# pid from a pidfile, only if that process is alive.
live_pid() {
  local file=$1 pid
  [[ -s "$file" ]] || return 1
  pid=$(<"$file")
  [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null || return 1
  printf '%s\n' "$pid"
}

# Gone once it no longer exists or is a zombie (its parent may be slow to reap it).
wait_gone() {
  local pid=$1 tries=$2 stat
  while ((tries-- > 0)); do
    stat=$(cat "/proc/$pid/stat" 2>/dev/null) || return 0
    stat=${stat##*) }
    [[ "${stat:0:1}" == Z ]] && return 0
    sleep 0.1
  done
  return 1
}

# load_images WHAT IMAGE...: copies images from this machine's engine to the host's ($DOCKER_URL),
# pulling here first what this machine lacks.
# The one way an image reaches a host: it has no route to any registry.
load_images() {
  local what=$1
  shift
  docker -H "$DOCKER_URL" info >/dev/null 2>&1 || die "$what $NAME is not up (no engine on $DOCKER_URL)"
  local image
  for image in "$@"; do # what this machine lacks is pulled here first (the host cannot)
    docker image inspect "$image" >/dev/null 2>&1 && continue
    log "pulling $image on this machine"
    docker pull -q "$image" >&2 ||
      die "image $image is neither on this machine nor pullable from it: pull or build it here (docker pull $image), then re-run"
  done
  log "loading into $NAME: $*"
  docker save "$@" | docker -H "$DOCKER_URL" load >&2
}
