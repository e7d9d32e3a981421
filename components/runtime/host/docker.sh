# Host runtime: logging, Docker objects, schedules (sourced by runtime.sh's renderer before the concerns).
log() { printf '[runtime %s] %s\n' "$ENV_NAME" "$*"; }
fail() {
  log "FAILED: $*"
  exit 1
}
label="${ENV_LABEL}"
state_dir="${HOME}/${STATE_DIR}"
runtime_link="${HOME}/${RUNTIME_LINK}"
backup_dir="${HOME}/${BACKUPS_DIR}"
deployments_dir="${HOME}/${DEPLOYMENTS_DIR}"
# The versions the release phase ran for: records about the data, dropped with it (a new,
# empty database must see every release again).
releases_dir="${HOME}/${RELEASES_DIR}"
# Left by a destroy that kept the database volume (the next stack of this name adopts it).
data_kept="${HOME}/${DATA_KEPT_FILE}"
# What each runtime container was started with (a label): a change recreates it, verify checks it.
DB_SPEC="db-v1"
EDGE_SPEC="edge-v2-${BIND_ADDRESS}-${HTTP_PORT}-${HTTPS_PORT}"

require_docker() {
  command -v docker >/dev/null || fail "docker is not installed on this host"
  docker info >/dev/null 2>&1 || fail "the Docker engine does not answer (is dockerd running? can $(id -un) use it?)"
}

ensure_network() {
  docker network inspect "$NETWORK" >/dev/null 2>&1 && return
  log "creating network ${NETWORK}"
  docker network create --label "$label" "$NETWORK" >/dev/null
}

ensure_volume() {
  docker volume inspect "$1" >/dev/null 2>&1 && return
  log "creating volume $1"
  docker volume create --label "$label" "$1" >/dev/null
}

# True when container $1 exists, runs, and was created from image $2 with spec $3.
container_current() {
  local state
  state="$(docker inspect -f "{{.State.Running}} {{.Config.Image}} {{index .Config.Labels \"${SPEC_LABEL}\"}}" "$1" 2>/dev/null || true)"
  [[ "$state" == "true $2 $3" ]]
}

# start_container NAME IMAGE SPEC [docker run options...] -- [command...]
start_container() {
  local name="$1" image="$2" spec="$3"
  shift 3
  if container_current "$name" "$image" "$spec"; then
    return
  fi
  if docker inspect "$name" >/dev/null 2>&1; then
    log "replacing ${name} (image or settings changed)"
    # Stopped first, as docker stop does (its stop signal, 30 s): a data store saves what it holds.
    docker stop -t 30 "$name" >/dev/null 2>&1 || true
    docker rm -f "$name" >/dev/null
  fi
  log "starting ${name} (${image})"
  docker run --detach --name "$name" --network "$NETWORK" --restart unless-stopped \
    --label "$label" --label "${SPEC_LABEL}=${spec}" --log-opt max-size=10m --log-opt max-file=3 "$@" >/dev/null
}

wait_until() {
  local what="$1" seconds="$2"
  shift 2
  local started=$SECONDS
  until "$@" >/dev/null 2>&1; do
    ((SECONDS - started < seconds)) || fail "${what} not ready after ${seconds}s"
    sleep 0.5
  done
}

# Environments sharing a host edit one crontab: one edit at a time (released with `exec 8>&-`).
lock_crontab() {
  mkdir -p "${HOME}/${HOST_ROOT}"
  exec 8>"${HOME}/${HOST_ROOT}/.crontab.lock"
  flock -w 60 8 || fail "the crontab lock is held by another deployment"
}

# schedule NAME WHEN ACTION: one line in the deploy user's crontab (WHEN: its five time fields, or
# a macro such as @daily), tagged per environment; the action's output goes to <state>/NAME.log.
schedule() {
  local name="$1" when="$2" action="$3" tag="${CRONTAB_TAG}$1"
  if ! command -v crontab >/dev/null 2>&1; then
    log "WARNING: no crontab on this host: ${name} is not scheduled (install cron)"
    return
  fi
  lock_crontab
  { crontab -l 2>/dev/null | grep -vF "$tag" || true
    printf '%s bash %q %s >>%q 2>&1 %s\n' "$when" "$runtime_link" "$action" "${state_dir}/${name}.log" "$tag"
  } | crontab -
  exec 8>&-
  log "${name} scheduled (${when}, crontab of $(id -un))"
}

unschedule() {
  local tag="${CRONTAB_TAG}$1"
  command -v crontab >/dev/null 2>&1 || return 0
  lock_crontab
  if crontab -l 2>/dev/null | grep -qF "$tag"; then
    { crontab -l 2>/dev/null | grep -vF "$tag" || true; } | crontab -
    log "$1 schedule removed"
  fi
  exec 8>&-
  rm -f "${state_dir}/$1.log"
}

# This script becomes the current runtime (what schedules and day-2 commands run), and older
# installed versions go after 30 days. A repair never moves the link to an older deployment.
make_current() {
  local self
  self="$(readlink -f "$0")"
  if [[ "${PERMACOOP_REPAIR:-0}" == "1" && -e "$runtime_link" ]]; then return 0; fi
  ln -sfn "$self" "$runtime_link"
  find "${self%/*}" -maxdepth 1 -name '*.sh' -mtime +30 ! -path "$self" -delete
}
