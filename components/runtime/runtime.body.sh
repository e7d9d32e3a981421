# Body of the host runtime script (components/runtime/runtime.ts prepends the typed spec).
# Actions:
#   data            idempotent: the database volume, the backup schedule (container database)
#   drop-data       the database volume (kept when PERMACOOP_KEEP_DATA=1) and its schedule; backups stay
#   up              idempotent: network, volumes, database, switch, edge
#   down            everything but the data (see drop-data)
#   proxy           read the edge configurations (HTTP, HTTPS) on stdin, apply the right one
#   certificate     issue or renew the certificate (certbot, HTTP-01), then switch to HTTPS
#   renew           what the twice-daily schedule runs: certbot renew, reload on change
#   remove-service NAME
#   backup [TAG]    pg_dump of the container database into ~/.permacoop/<env>/backups
#   backups         the backups on this host
#   restore NAME    restore one (after a safety backup), in a single transaction
#   verify          compare the containers with what the last deployment left (drift)
set -euo pipefail

log() { printf '[runtime %s] %s\n' "$ENV_NAME" "$*"; }
fail() {
  log "FAILED: $*"
  exit 1
}
label="permacoop.env=${ENV_NAME}"
# What each runtime container was started with (a label): a change recreates it, verify checks it.
DB_SPEC="db-v1"
SWITCH_SPEC="switch-v2"
EDGE_SPEC="edge-v2-${BIND_ADDRESS}-${HTTP_PORT}-${HTTPS_PORT}"
state_dir="${HOME}/.permacoop/${ENV_NAME}"
runtime_copy="${state_dir}/runtime.sh"
backup_dir="${state_dir}/backups"

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
  local envfile password
  envfile="$(mktemp)"
  chmod 600 "$envfile"
  # shellcheck disable=SC2064 # the file name is fixed now
  trap "rm -f '${envfile}'" EXIT
  # POSTGRES_PASSWORD arrives on stdin.
  cat >"$envfile"
  password="$(sed -n 's/^POSTGRES_PASSWORD=//p' "$envfile")"
  # The volume belongs to the data resource (protected on prod); up only uses it.
  docker volume inspect "$DB_VOLUME" >/dev/null 2>&1 || fail "the database volume ${DB_VOLUME} is missing (the data step creates it)"
  start_container "$DB_CONTAINER" "$DB_IMAGE" "$DB_SPEC" \
    --env-file "$envfile" -e "POSTGRES_USER=${DB_USER}" -e "POSTGRES_DB=${DB_NAME}" \
    -v "${DB_VOLUME}:/var/lib/postgresql/data" \
    "$DB_IMAGE"
  rm -f "$envfile"
  wait_until "PostgreSQL" 60 docker exec "$DB_CONTAINER" pg_isready -q -U "$DB_USER" -d "$DB_NAME" -h 127.0.0.1
  # The image applies POSTGRES_PASSWORD to an empty volume only: a kept volume gets the
  # stack's current password too (through stdin, never argv).
  printf "ALTER ROLE \"%s\" PASSWORD '%s';\n" "$DB_USER" "$password" |
    docker exec -i "$DB_CONTAINER" psql -q -v ON_ERROR_STOP=1 -U "$DB_USER" -d "$DB_NAME" >/dev/null ||
    fail "cannot set the database password in ${DB_CONTAINER}"
}

nginx_command=(sh -c 'rm -f /etc/nginx/conf.d/default.conf; exec nginx -g "daemon off;"')
# The proxies open a connection per request to one address (the switch, the live app): let
# them reuse TIME_WAIT ports, or a few hundred requests a second exhaust them within a minute.
proxy_sysctls=(--sysctl net.ipv4.tcp_tw_reuse=1 --sysctl "net.ipv4.ip_local_port_range=1024 65000")

up_proxy() {
  ensure_volume "${PREFIX}-switch-conf"
  ensure_volume "${PREFIX}-edge-conf"
  ensure_volume "${PREFIX}-acme"
  ensure_volume "${PREFIX}-certs"
  start_container "$SWITCH" "$NGINX_IMAGE" "$SWITCH_SPEC" "${proxy_sysctls[@]}" \
    -v "${PREFIX}-switch-conf:/etc/nginx/conf.d" \
    --entrypoint "" "$NGINX_IMAGE" "${nginx_command[@]}"
  local ports=(-p "${BIND_ADDRESS}:${HTTP_PORT}:80")
  if [[ "$HTTPS_PORT" != "0" ]]; then ports+=(-p "${BIND_ADDRESS}:${HTTPS_PORT}:443"); fi
  start_container "$EDGE" "$NGINX_IMAGE" "$EDGE_SPEC" "${proxy_sysctls[@]}" \
    "${ports[@]}" \
    -v "${PREFIX}-edge-conf:/etc/nginx/conf.d" -v "${PREFIX}-acme:/var/www/acme" -v "${PREFIX}-certs:/etc/letsencrypt" \
    --entrypoint "" "$NGINX_IMAGE" "${nginx_command[@]}"
  wait_until "switch nginx" 30 docker exec "$SWITCH" nginx -t -q
  wait_until "edge nginx" 30 docker exec "$EDGE" nginx -t -q
}

require_docker() {
  command -v docker >/dev/null || fail "docker is not installed on this host"
  docker info >/dev/null 2>&1 || fail "the Docker engine does not answer (is dockerd running? can $(id -un) use it?)"
}

up() {
  require_docker
  save_runtime_copy
  ensure_network
  up_database
  up_proxy
  log "runtime is up"
}

# The edge keeps both variants of its configuration next to the active one; the HTTPS one is
# active only once a certificate exists, so a failed issuance leaves HTTP serving.
edge_dir=/etc/nginx/conf.d
cert_live="/etc/letsencrypt/live/${CERT_NAME}"

# Makes the right variant active: nginx -t inside the edge, then reload. An invalid
# configuration is put back and fails the command; the running one stays.
activate_edge() {
  docker exec "$EDGE" sh -c "
    set -e
    variant=${edge_dir}/permacoop.http
    if [ -f ${edge_dir}/permacoop.https ] && [ -f ${cert_live}/fullchain.pem ]; then variant=${edge_dir}/permacoop.https; fi
    if [ -f ${edge_dir}/permacoop.conf ] && cmp -s \"\$variant\" ${edge_dir}/permacoop.conf; then exit 0; fi
    [ -f ${edge_dir}/permacoop.conf ] && cp ${edge_dir}/permacoop.conf ${edge_dir}/permacoop.prev
    cp \"\$variant\" ${edge_dir}/permacoop.conf
    if ! nginx -t -q; then
      if [ -f ${edge_dir}/permacoop.prev ]; then mv ${edge_dir}/permacoop.prev ${edge_dir}/permacoop.conf; else rm -f ${edge_dir}/permacoop.conf; fi
      exit 1
    fi
    nginx -s reload
    echo \"edge serves \${variant##*.}\"
  " || fail "nginx -t rejected the new edge configuration; the running one is unchanged"
}

# Reads the HTTP variant, a line "---", then the HTTPS variant (empty when TLS is off).
proxy() {
  local http https
  http="$(mktemp)"
  https="$(mktemp)"
  awk -v http="$http" -v https="$https" '$0 == "---" { part = 1; next } { print > (part ? https : http) }' && touch "$https"
  docker exec -i "$EDGE" sh -c "cat > ${edge_dir}/permacoop.http" <"$http"
  if [[ -s "$https" ]]; then
    docker exec -i "$EDGE" sh -c "cat > ${edge_dir}/permacoop.https" <"$https"
  else
    docker exec "$EDGE" rm -f "${edge_dir}/permacoop.https"
  fi
  rm -f "$http" "$https"
  activate_edge
  log "edge configuration applied"
}

certbot_run() {
  local ca=() deadline=()
  if [[ -n "${CERTBOT_TIMEOUT:-}" ]]; then deadline=(timeout "$CERTBOT_TIMEOUT"); fi
  if docker run --rm -v "${PREFIX}-certs:/etc/letsencrypt" --entrypoint test "$CERTBOT_IMAGE" -s /etc/letsencrypt/permacoop-ca.pem; then
    ca=(-e REQUESTS_CA_BUNDLE=/etc/letsencrypt/permacoop-ca.pem)
  fi
  # Host network: the ACME server may be on this host's loopback (a test CA).
  "${deadline[@]}" docker run --rm --network host "${ca[@]}" \
    -v "${PREFIX}-certs:/etc/letsencrypt" -v "${PREFIX}-acme:/var/www/acme" \
    "$CERTBOT_IMAGE" "$@"
}

# Issues (or expands) the certificate for every hostname; on success the edge switches to
# HTTPS. Reads the ACME CA bundle (PEM, may be empty) on stdin.
certificate() {
  [[ -n "$CERT_DOMAINS" ]] || fail "TLS is off: no certificate to issue"
  docker run --rm -i -v "${PREFIX}-certs:/etc/letsencrypt" --entrypoint sh "$CERTBOT_IMAGE" \
    -c 'cat > /etc/letsencrypt/permacoop-ca.pem.next && mv /etc/letsencrypt/permacoop-ca.pem.next /etc/letsencrypt/permacoop-ca.pem'
  local domains=() output
  for domain in $CERT_DOMAINS; do domains+=(-d "$domain"); done
  log "requesting a certificate for ${CERT_DOMAINS} from ${ACME_DIRECTORY} (deadline ${CERT_DEADLINE}s)"
  if ! output="$(CERTBOT_TIMEOUT="$CERT_DEADLINE" certbot_run certonly --webroot --webroot-path /var/www/acme --cert-name "$CERT_NAME" "${domains[@]}" \
    --server "$ACME_DIRECTORY" --email "$ACME_EMAIL" --agree-tos --non-interactive --no-eff-email \
    --keep-until-expiring --expand 2>&1)"; then
    printf '%s\n' "$output" | tail -n 15 | sed 's/^/    /'
    fail "no certificate for ${CERT_DOMAINS}: check that each name resolves to this host and that port 80 reaches it (HTTP keeps serving)"
  fi
  activate_edge
  schedule_renewal
  log "certificate in place for ${CERT_DOMAINS}"
}

# Twice a day, as certbot recommends; nginx reloads only when a certificate changed.
renew() {
  local before after
  before="$(docker exec "$EDGE" sh -c "cat ${cert_live}/fullchain.pem 2>/dev/null" | sha256sum)"
  certbot_run renew --quiet --webroot --webroot-path /var/www/acme
  after="$(docker exec "$EDGE" sh -c "cat ${cert_live}/fullchain.pem 2>/dev/null" | sha256sum)"
  if [[ "$before" != "$after" ]]; then
    docker exec "$EDGE" nginx -s reload
    log "certificate renewed, edge reloaded"
  fi
}

# Scheduled actions (renewal, backups) and `npm run backup|drift` run this copy of the script.
save_runtime_copy() {
  # Only the `bash -c SCRIPT` form (the deployment) refreshes the copy, not the copy itself.
  [[ -n "${BASH_EXECUTION_STRING:-}" && "${PERMACOOP_REPAIR:-0}" != "1" ]] || return 0
  mkdir -p "$state_dir"
  printf '%s\n' "$BASH_EXECUTION_STRING" >"${runtime_copy}.next"
  mv "${runtime_copy}.next" "$runtime_copy"
}

# Environments sharing a host edit one crontab: one edit at a time (released with `exec 8>&-`).
lock_crontab() {
  mkdir -p "${HOME}/.permacoop"
  exec 8>"${HOME}/.permacoop/.crontab.lock"
  flock -w 60 8 || fail "the crontab lock is held by another deployment"
}

# schedule NAME MINUTE HOURS ACTION: one line in the deploy user's crontab, tagged per environment.
schedule() {
  local name="$1" minute="$2" hours="$3" action="$4" tag="# permacoop:${ENV_NAME}:$1"
  if ! command -v crontab >/dev/null 2>&1; then
    log "WARNING: no crontab on this host: ${name} is not scheduled (install cron)"
    return
  fi
  save_runtime_copy
  lock_crontab
  { crontab -l 2>/dev/null | grep -vF "$tag" || true
    printf '%s %s * * * bash %q %s >>%q 2>&1 %s\n' "$minute" "$hours" "$runtime_copy" "$action" "${state_dir}/${name}.log" "$tag"
  } | crontab -
  exec 8>&-
  log "${name} scheduled (${minute} ${hours} * * *, crontab of $(id -un))"
}

unschedule() {
  local tag="# permacoop:${ENV_NAME}:$1"
  command -v crontab >/dev/null 2>&1 || return 0
  lock_crontab
  if crontab -l 2>/dev/null | grep -qF "$tag"; then
    { crontab -l 2>/dev/null | grep -vF "$tag" || true; } | crontab -
    log "$1 schedule removed"
  fi
  exec 8>&-
  rm -f "${state_dir}/$1.log"
}

# Twice a day, as certbot recommends.
schedule_renewal() { schedule renew "$((RANDOM % 60))" "$((RANDOM % 12)),$((RANDOM % 12 + 12))" renew; }

remove_service() {
  local service="$1" containers
  containers="$(docker ps -a --filter "label=${label}" --filter "label=permacoop.service=${service}" --format '{{.Names}}')"
  if [[ -n "$containers" ]]; then
    log "removing service ${service}: ${containers//$'\n'/ }"
    # shellcheck disable=SC2086 # one name per word
    docker rm -f $containers >/dev/null
  fi
  docker exec "$SWITCH" sh -c "rm -f /etc/nginx/conf.d/${service}.conf* && nginx -s reload" >/dev/null 2>&1 || true
  rm -f "${state_dir}/services/${service}"
}

down() {
  local containers volumes
  # The last state of the data, whatever happens to the volume next (drop-data, a VM's disk).
  if [[ "$DB_MODE" == "container" && "$(docker inspect -f '{{.State.Running}}' "$DB_CONTAINER" 2>/dev/null)" == "true" ]]; then
    backup final || log "WARNING: no final backup (see above)"
  fi
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
    [[ "$volume" != "$DB_VOLUME" ]] || continue
    log "removing volume ${volume}"
    docker volume rm "$volume" >/dev/null
  done
  unschedule renew
  rm -rf "${state_dir}/services"
  # With a container database the copy serves backups until the data goes (drop-data).
  [[ "$DB_MODE" == "container" ]] || rm -f "$runtime_copy"
  log "runtime removed"
}

# --- data: the database volume and its backups ---------------------------------------------

require_container_database() {
  [[ "$DB_MODE" == "container" ]] ||
    fail "the database is managed by Scaleway: it keeps its own backups (console, or: scw rdb backup list)"
}

# data create: the volume (new environment). data update: the volume must already be there: a
# volume gone missing is never silently replaced by an empty database.
data() {
  require_container_database
  require_docker
  save_runtime_copy
  if [[ "${1:-create}" == "create" ]]; then
    ensure_volume "$DB_VOLUME"
  elif ! docker volume inspect "$DB_VOLUME" >/dev/null 2>&1; then
    fail "the database volume ${DB_VOLUME} is missing on this host (removed by hand?). To start again from a backup: docker volume create --label ${label} ${DB_VOLUME}, pulumi up, then npm run restore -- -s ${ENV_NAME} <backup> (backups: ${backup_dir})"
  fi
  schedule backup "$BACKUP_MINUTE" "$BACKUP_HOUR" "backup daily"
}

drop_data() {
  require_container_database
  unschedule backup
  if [[ "${PERMACOOP_KEEP_DATA:-0}" == "1" ]]; then
    log "keeping data volume ${DB_VOLUME} (PERMACOOP_KEEP_DATA=1)"
  elif docker volume inspect "$DB_VOLUME" >/dev/null 2>&1; then
    log "removing volume ${DB_VOLUME}"
    docker volume rm "$DB_VOLUME" >/dev/null
  fi
  rm -f "$runtime_copy"
  if compgen -G "${backup_dir}/*.dump" >/dev/null; then log "backups stay in ${backup_dir}"; fi
}

# backup [TAG]: a custom-format pg_dump (what pg_restore reads), written whole or not at all.
# Daily backups older than BACKUP_RETENTION_DAYS are pruned; tagged ones stay until removed by hand.
backup() {
  require_container_database
  local tag="${1:-}" name file
  name="${ENV_NAME}-$(date -u +%Y%m%dT%H%M%SZ)${tag:+-${tag}}.dump"
  file="${backup_dir}/${name}"
  umask 077 # dumps hold every row: readable by the deploy user only
  mkdir -p "$backup_dir"
  if ! docker exec "$DB_CONTAINER" pg_dump --format custom -U "$DB_USER" -d "$DB_NAME" >"${file}.partial"; then
    rm -f "${file}.partial"
    fail "pg_dump of ${DB_NAME} in ${DB_CONTAINER} failed: no backup written"
  fi
  mv "${file}.partial" "$file"
  log "backup ${name} ($(du -h "$file" | cut -f1)) in ${backup_dir}"
  # Expired = older than the retention AND not among the newest BACKUP_RETENTION_DAYS daily dumps:
  # if the dumps stopped for a while, the last good ones are never pruned away.
  local expired
  expired="$(find "$backup_dir" -maxdepth 1 -name "${ENV_NAME}-*-daily.dump" -printf '%T@ %p\n' | sort -rn | tail -n +$((BACKUP_RETENTION_DAYS + 1)) |
    while read -r mtime path; do
      ((${mtime%.*} < $(date +%s) - BACKUP_RETENTION_DAYS * 86400)) && printf '%s\n' "$path"
    done || true)"
  for old in $expired; do
    rm -f "$old"
    log "pruned ${old##*/} (older than ${BACKUP_RETENTION_DAYS} days)"
  done
}

backups() {
  require_container_database
  if ! compgen -G "${backup_dir}/*.dump" >/dev/null; then
    log "no backup in ${backup_dir} yet"
    return
  fi
  find "$backup_dir" -maxdepth 1 -name '*.dump' -printf '%f\t%s bytes\t%TY-%Tm-%TdT%TH:%TM\n' | sort
}

# GET http://<container>:<port><path> answers 2xx.
answers() {
  local address
  address="$(network_address "$1")"
  curl --silent --fail --output /dev/null --max-time 5 "http://${address}:$2$3"
}

# start_services CONTAINER...: start them again, wait until each answers its health check, then
# reload the switch so that it resolves their (possibly new) addresses afresh.
start_services() {
  local container service probe
  docker start "$@" >/dev/null
  for container in "$@"; do
    service="$(docker inspect -f '{{index .Config.Labels "permacoop.service"}}' "$container")"
    for probe in $SERVICE_PROBES; do
      [[ "${probe%%=*}" == "$service" ]] || continue
      probe="${probe#*=}"
      wait_until "${container}'s health check" 60 answers "$container" "${probe%%/*}" "/${probe#*/}"
    done
  done
  docker exec "$SWITCH" nginx -s reload 2>/dev/null
  log "services started again and healthy: $*"
}

# restore NAME: a safety backup first; the services stopped (nothing written meanwhile is lost);
# then, in ONE transaction, the schema is emptied and the dump replayed: the database is exactly
# the dump (tables a later migration added go too), or unchanged if anything fails.
restore() {
  require_container_database
  local name="${1##*/}" file running
  file="${backup_dir}/${name}"
  [[ -f "$file" ]] || fail "no backup ${name} in ${backup_dir} (list them: npm run backup -- -s ${ENV_NAME} --list)"
  running="$(docker ps --filter "label=${label}" --filter label=permacoop.service --format '{{.Names}}')"
  if [[ -n "$running" ]]; then
    log "stopping the services during the restore (the proxy answers 502): ${running//$'\n'/ }"
    # shellcheck disable=SC2086,SC2064 # one name per word; the names are fixed now
    { docker stop $running >/dev/null; trap "start_services ${running//$'\n'/ }" EXIT; }
  fi
  log "safety backup of the current data before restoring"
  backup pre-restore
  log "restoring ${name} into ${DB_NAME}"
  {
    printf '%s\n' "SET client_min_messages = warning; SET lock_timeout = '30s'; DROP SCHEMA public CASCADE; CREATE SCHEMA public;"
    docker exec -i "$DB_CONTAINER" pg_restore --no-owner -f - <"$file"
  } | docker exec -i "$DB_CONTAINER" psql -q -X -1 -v ON_ERROR_STOP=1 -U "$DB_USER" -d "$DB_NAME" >/dev/null ||
    fail "restore of ${name} failed: the database is unchanged (one transaction)"
  log "restored ${name}"
}

# --- verify: the host against what the last deployment left --------------------------------

drift_count=0
drift() {
  drift_count=$((drift_count + 1))
  printf 'drift: %s\n' "$*"
}

# check_runtime_container NAME IMAGE SPEC
check_runtime_container() {
  local state
  state="$(docker inspect -f '{{.State.Status}} {{.Config.Image}} {{index .Config.Labels "permacoop.spec"}}' "$1" 2>/dev/null || true)"
  if [[ -z "$state" ]]; then
    drift "$1 is missing (expected ${2})"
  elif [[ "$state" != "running $2 $3" ]]; then
    drift "$1: found \"${state}\", expected \"running $2 $3\" (status, image, spec)"
  fi
}

verify() {
  require_docker
  [[ "$DB_MODE" != "container" ]] || check_runtime_container "$DB_CONTAINER" "$DB_IMAGE" "$DB_SPEC"
  check_runtime_container "$SWITCH" "$NGINX_IMAGE" "$SWITCH_SPEC"
  check_runtime_container "$EDGE" "$NGINX_IMAGE" "$EDGE_SPEC"
  local service record live container image_id env status
  for service in $SERVICES; do
    record="${state_dir}/services/${service}"
    if [[ ! -f "$record" ]]; then
      drift "service ${service}: no deployment recorded on this host (${record})"
      continue
    fi
    read -r container image_id env _ <"$record"
    live="$(switch_live "$service" 2>/dev/null || true)"
    [[ "$live" == "$container" ]] || drift "service ${service}: the switch sends traffic to \"${live:-nothing}\", the deployment left ${container}"
    status="$(docker inspect -f '{{.State.Status}} {{.Image}}' "$container" 2>/dev/null || true)"
    if [[ -z "$status" ]]; then
      drift "service ${service}: container ${container} is missing"
      continue
    fi
    [[ "${status%% *}" == "running" ]] || drift "service ${service}: ${container} is ${status%% *}, expected running"
    [[ "${status#* }" == "$image_id" ]] || drift "service ${service}: ${container} runs image ${status#* }, the deployment started ${image_id}"
    [[ "$(env_hash "$container")" == "$env" ]] || drift "service ${service}: ${container}'s environment differs from the deployed one"
  done
  if [[ "$DB_MODE" == "container" ]]; then
    crontab -l 2>/dev/null | grep -qF "# permacoop:${ENV_NAME}:backup" || drift "no daily backup scheduled in $(id -un)'s crontab (install cron, then pulumi up)"
    local newest
    newest="$(find "$backup_dir" -maxdepth 1 -name "${ENV_NAME}-*-daily.dump" -printf '%T@\n' 2>/dev/null | sort -rn | head -n 1)"
    if [[ -n "$newest" ]] && ((${newest%.*} < $(date +%s) - 26 * 3600)); then
      drift "the newest daily backup is older than 26 hours (see ${state_dir}/backup.log)"
    fi
  fi
  local expected=(-e "$SWITCH" -e "$EDGE") stray
  [[ "$DB_MODE" != "container" ]] || expected+=(-e "$DB_CONTAINER")
  for service in $SERVICES; do
    [[ ! -f "${state_dir}/services/${service}" ]] || expected+=(-e "$(cut -d' ' -f1 "${state_dir}/services/${service}")")
  done
  for stray in $(docker ps -a --filter "label=${label}" --format '{{.Names}}' | grep -vxF "${expected[@]}" || true); do
    drift "container ${stray} is not part of the deployment"
  done
  if ((drift_count > 0)); then
    log "${drift_count} difference(s) between the host and the deployment"
    exit 3
  fi
  log "host matches the deployment"
}

# A repair (npm run drift -- --repair) replays the last deployment recorded in the state: when the
# host has since run another deployment's runtime, leave it alone rather than roll it back.
if [[ "${PERMACOOP_REPAIR:-0}" == "1" ]] && [[ "$(cat "$runtime_copy" 2>/dev/null)" != "$(printf '%s\n' "${BASH_EXECUTION_STRING:-}")" ]]; then
  log "repair: the host runs another deployment's runtime: left alone"
  exit 0
fi

case "${1:-}" in
  up) up ;;
  down) down ;;
  proxy) proxy ;;
  certificate) certificate ;;
  renew) renew ;;
  remove-service) remove_service "${2:?service name}" ;;
  data) data "${2:-create}" ;;
  drop-data) drop_data ;;
  backup) backup "${2:-}" ;;
  backups) backups ;;
  restore) restore "${2:?backup name}" ;;
  verify) verify ;;
  *) fail "usage: runtime.sh up|down|proxy|certificate|renew|remove-service NAME|data [create|update]|drop-data|backup [TAG]|backups|restore NAME|verify" ;;
esac
