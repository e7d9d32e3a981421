# Body of the host runtime script (components/runtime/runtime.ts prepends the typed spec).
# Actions:
#   up              idempotent: network, volumes, database, switch, edge
#   down            everything (the database volume is kept when PERMACOOP_KEEP_DATA=1)
#   proxy           read the edge configurations (HTTP, HTTPS) on stdin, apply the right one
#   certificate     issue or renew the certificate (certbot, HTTP-01), then switch to HTTPS
#   renew           what the twice-daily schedule runs: certbot renew, reload on change
#   remove-service NAME
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
  local envfile password
  envfile="$(mktemp)"
  chmod 600 "$envfile"
  # POSTGRES_PASSWORD arrives on stdin.
  cat >"$envfile"
  password="$(sed -n 's/^POSTGRES_PASSWORD=//p' "$envfile")"
  ensure_volume "$DB_VOLUME"
  start_container "$DB_CONTAINER" "$DB_IMAGE" "db-v1" \
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
  start_container "$SWITCH" "$NGINX_IMAGE" "switch-v2" "${proxy_sysctls[@]}" \
    -v "${PREFIX}-switch-conf:/etc/nginx/conf.d" \
    --entrypoint "" "$NGINX_IMAGE" "${nginx_command[@]}"
  local ports=(-p "${BIND_ADDRESS}:${HTTP_PORT}:80")
  if [[ "$HTTPS_PORT" != "0" ]]; then ports+=(-p "${BIND_ADDRESS}:${HTTPS_PORT}:443"); fi
  start_container "$EDGE" "$NGINX_IMAGE" "edge-v2-${BIND_ADDRESS}-${HTTP_PORT}-${HTTPS_PORT}" "${proxy_sysctls[@]}" \
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

schedule_file="${HOME}/.permacoop/${ENV_NAME}/runtime.sh"
schedule_tag="# permacoop:${ENV_NAME}:renew"

schedule_renewal() {
  if ! command -v crontab >/dev/null 2>&1; then
    log "WARNING: no crontab on this host: certificate renewal is not scheduled (install cron)"
    return
  fi
  mkdir -p "$(dirname "$schedule_file")"
  # This script runs as `bash -c SCRIPT`: keep a copy for cron.
  printf '%s\n' "${BASH_EXECUTION_STRING:?the runtime script must run as bash -c SCRIPT}" >"$schedule_file"
  { crontab -l 2>/dev/null | grep -vF "$schedule_tag" || true
    printf '%s %s * * * bash %q renew >>%q 2>&1 %s\n' "$((RANDOM % 60))" "$((RANDOM % 12)),$((RANDOM % 12 + 12))" "$schedule_file" "${schedule_file%.sh}-renew.log" "$schedule_tag"
  } | crontab -
  log "renewal scheduled twice a day (crontab of $(id -un))"
}

unschedule_renewal() {
  command -v crontab >/dev/null 2>&1 || return 0
  if crontab -l 2>/dev/null | grep -qF "$schedule_tag"; then
    { crontab -l 2>/dev/null | grep -vF "$schedule_tag" || true; } | crontab -
    log "renewal schedule removed"
  fi
  # The audit log stays: it is the environment's history.
  rm -f "$schedule_file" "${schedule_file%.sh}-renew.log"
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
  unschedule_renewal
  log "runtime removed"
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  proxy) proxy ;;
  certificate) certificate ;;
  renew) renew ;;
  remove-service) remove_service "${2:?service name}" ;;
  *) fail "usage: runtime.sh up|down|proxy|certificate|renew|remove-service NAME" ;;
esac
