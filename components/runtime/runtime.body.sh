# Body of the host runtime script (components/runtime/runtime.ts prepends the typed spec).
# Actions: up (idempotent: network, volumes, database, switch, edge), down (everything,
# data volumes kept when PERMACOOP_KEEP_DATA=1), proxy (validate and apply the edge config
# read on stdin), remove-service NAME.
set -euo pipefail

log() { printf '[runtime %s] %s\n' "$ENV_NAME" "$*"; }
fail() {
  log "FAILED: $*"
  exit 1
}
label="permacoop.env=${ENV_NAME}"

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
  state="$(docker inspect -f '{{.State.Running}} {{.Config.Image}} {{index .Config.Labels "permacoop.spec"}}' "$1" 2>/dev/null || true)"
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
    docker rm -f "$name" >/dev/null
  fi
  log "starting ${name} (${image})"
  docker run --detach --name "$name" --network "$NETWORK" --restart unless-stopped \
    --label "$label" --label "permacoop.spec=${spec}" --log-opt max-size=10m --log-opt max-file=3 "$@" >/dev/null
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

up_database() {
  [[ "$DB_MODE" == "container" ]] || return 0
  local envfile
  envfile="$(mktemp)"
  chmod 600 "$envfile"
  # POSTGRES_PASSWORD arrives on stdin; it only initialises an empty volume.
  cat >"$envfile"
  ensure_volume "$DB_VOLUME"
  start_container "$DB_CONTAINER" "$DB_IMAGE" "db-v1" \
    --env-file "$envfile" -e "POSTGRES_USER=${DB_USER}" -e "POSTGRES_DB=${DB_NAME}" \
    -v "${DB_VOLUME}:/var/lib/postgresql/data" \
    "$DB_IMAGE"
  rm -f "$envfile"
  wait_until "PostgreSQL" 60 docker exec "$DB_CONTAINER" pg_isready -q -U "$DB_USER" -d "$DB_NAME" -h 127.0.0.1
}

nginx_command=(sh -c 'rm -f /etc/nginx/conf.d/default.conf; exec nginx -g "daemon off;"')

up_proxy() {
  ensure_volume "${PREFIX}-switch-conf"
  ensure_volume "${PREFIX}-edge-conf"
  ensure_volume "${PREFIX}-acme"
  ensure_volume "${PREFIX}-certs"
  start_container "$SWITCH" "$NGINX_IMAGE" "switch-v1" \
    -v "${PREFIX}-switch-conf:/etc/nginx/conf.d" \
    --entrypoint "" "$NGINX_IMAGE" "${nginx_command[@]}"
  local ports=(-p "${BIND_ADDRESS}:${HTTP_PORT}:80")
  if [[ "$HTTPS_PORT" != "0" ]]; then ports+=(-p "${BIND_ADDRESS}:${HTTPS_PORT}:443"); fi
  start_container "$EDGE" "$NGINX_IMAGE" "edge-v1-${BIND_ADDRESS}-${HTTP_PORT}-${HTTPS_PORT}" \
    "${ports[@]}" \
    -v "${PREFIX}-edge-conf:/etc/nginx/conf.d" -v "${PREFIX}-acme:/var/www/acme" -v "${PREFIX}-certs:/etc/letsencrypt" \
    --entrypoint "" "$NGINX_IMAGE" "${nginx_command[@]}"
  wait_until "switch nginx" 30 docker exec "$SWITCH" nginx -t -q
  wait_until "edge nginx" 30 docker exec "$EDGE" nginx -t -q
}

up() {
  command -v docker >/dev/null || fail "docker is not installed on this host"
  docker info >/dev/null 2>&1 || fail "the Docker engine does not answer (is dockerd running? can $(id -un) use it?)"
  ensure_network
  up_database
  up_proxy
  log "runtime is up"
}

# Validates the edge configuration read on stdin inside the edge container, then swaps it in
# and reloads. An invalid configuration fails the update and the running one stays.
proxy() {
  local file=/etc/nginx/conf.d/permacoop.conf
  docker exec -i "$EDGE" sh -c "cat > ${file}.next"
  docker exec "$EDGE" sh -c "
    set -e
    [ -f ${file} ] && cp ${file} ${file}.prev
    mv ${file}.next ${file}
    if ! nginx -t; then
      if [ -f ${file}.prev ]; then mv ${file}.prev ${file}; else rm -f ${file}; fi
      exit 1
    fi
    nginx -s reload
  " || fail "nginx -t rejected the new edge configuration; the running one is unchanged"
  log "edge configuration applied"
}

remove_service() {
  local service="$1" containers
  containers="$(docker ps -a --filter "label=${label}" --filter "label=permacoop.service=${service}" --format '{{.Names}}')"
  if [[ -n "$containers" ]]; then
    log "removing service ${service}: ${containers//$'\n'/ }"
    # shellcheck disable=SC2086 # one name per word
    docker rm -f $containers >/dev/null
  fi
  docker exec "$SWITCH" sh -c "rm -f /etc/nginx/conf.d/${service}.conf* && nginx -s reload" >/dev/null 2>&1 || true
}

down() {
  local containers volumes
  containers="$(docker ps -a --filter "label=${label}" --format '{{.Names}}')"
  if [[ -n "$containers" ]]; then
    log "removing containers: ${containers//$'\n'/ }"
    # shellcheck disable=SC2086 # one name per word
    docker rm -f $containers >/dev/null
  fi
  if docker network inspect "$NETWORK" >/dev/null 2>&1; then
    log "removing network ${NETWORK}"
    docker network rm "$NETWORK" >/dev/null
  fi
  volumes="$(docker volume ls --filter "label=${label}" --format '{{.Name}}')"
  for volume in $volumes; do
    if [[ "${PERMACOOP_KEEP_DATA:-0}" == "1" && "$volume" == "$DB_VOLUME" ]]; then
      log "keeping data volume ${volume} (PERMACOOP_KEEP_DATA=1)"
      continue
    fi
    log "removing volume ${volume}"
    docker volume rm "$volume" >/dev/null
  done
  log "runtime removed"
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  proxy) proxy ;;
  remove-service) remove_service "${2:?service name}" ;;
  *) fail "usage: runtime.sh up|down|proxy|remove-service NAME" ;;
esac
