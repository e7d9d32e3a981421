# Data: the PostgreSQL container and its volume, backups (pg_dump) and restores.
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
  # stack's current password too (through stdin, never argv). On a new volume the image restarts
  # its server once after initialising it, so the first answer can be the one about to stop:
  # retried until it holds.
  # shellcheck disable=SC2317 # run by wait_until
  set_database_password() {
    printf "ALTER ROLE \"%s\" PASSWORD '%s';\n" "$DB_USER" "$password" |
      docker exec -i "$DB_CONTAINER" psql -q -v ON_ERROR_STOP=1 -U "$DB_USER" -d "$DB_NAME"
  }
  wait_until "the database password in ${DB_CONTAINER}" 30 set_database_password
}

require_container_database() {
  [[ "$DB_MODE" == "container" ]] ||
    fail "the database is managed by Scaleway: it keeps its own backups (console, or: scw rdb backup list)"
}

# data create: the volume (new environment). data update, and any repair: the volume must already
# be there (a volume gone missing is never silently replaced by an empty database), except on a
# machine with no trace of the environment yet (a replaced VM, a rebuilt server): there the
# database starts empty, and says so.
data() {
  require_container_database
  require_docker
  local new_machine=false
  [[ -e "$runtime_link" ]] || new_machine=true
  make_current
  rm -f "$data_kept" # this stack's data now
  if ! docker volume inspect "$DB_VOLUME" >/dev/null 2>&1; then
    if [[ "${1:-create}" == "create" && "${PERMACOOP_REPAIR:-0}" != "1" ]]; then
      ensure_volume "$DB_VOLUME"
    elif [[ "$new_machine" == true ]]; then
      log "WARNING: a new machine: ${DB_VOLUME} starts EMPTY (a container database lives on its machine; restore a backup taken off the old one: npm run restore -- -s ${ENV_NAME} <backup>)"
      ensure_volume "$DB_VOLUME"
    else
      fail "the database volume ${DB_VOLUME} is missing on this host (removed by hand?). To start again from a backup: docker volume create --label ${label} ${DB_VOLUME}, pulumi up, then npm run restore -- -s ${ENV_NAME} <backup> (backups: ${backup_dir})"
    fi
  fi
}

drop_data() {
  require_container_database
  # Accessories still here need their daily backup; gone (a destroy drops them first), nothing does.
  [[ -n "$(docker ps -aq --filter "label=${label}" --filter "label=${ACCESSORY_LABEL}")" ]] || unschedule backup
  if [[ "${PERMACOOP_KEEP_DATA:-0}" == "1" ]]; then
    log "keeping data volume ${DB_VOLUME} (PERMACOOP_KEEP_DATA=1): the next deploy of ${ENV_NAME} here finds it"
    touch "$data_kept"
  else
    if docker volume inspect "$DB_VOLUME" >/dev/null 2>&1; then
      log "removing volume ${DB_VOLUME}"
      docker volume rm "$DB_VOLUME" >/dev/null
    fi
    rm -rf "$releases_dir"
  fi
  rm -f "$runtime_link"
  if compgen -G "${backup_dir}/*.dump" >/dev/null; then log "backups stay in ${backup_dir}"; fi
}

# backup [TAG [TARGET]]: the container database (a custom-format pg_dump, what pg_restore reads)
# and each accessory (accessories.sh), or TARGET alone ("database", or an accessory's name), each
# written whole or not at all, under one time stamp. Every target is tried: one that fails does not
# stop the others, and the backup then fails, naming it. Daily backups older than
# BACKUP_RETENTION_DAYS are pruned; tagged ones stay until removed by hand.
backup() {
  [[ "$DB_MODE" == "container" || -n "$ACCESSORIES" ]] || require_container_database
  local tag="${1:-}" target="${2:-}" stem accessory failed=()
  stem="${backup_dir}/${ENV_NAME}-$(date -u +%Y%m%dT%H%M%SZ)${tag:+-${tag}}"
  umask 077 # backups hold every row: readable by the deploy user only
  mkdir -p "$backup_dir"
  if [[ "$DB_MODE" == "container" && (-z "$target" || "$target" == database) ]]; then
    (backup_database "$stem") || failed+=(database)
  fi
  while IFS=$'\t' read -r accessory _; do
    [[ -n "$accessory" && (-z "$target" || "$target" == "$accessory") ]] || continue
    (backup_accessory "$accessory" "$stem") || failed+=("$accessory")
  done <<<"$ACCESSORIES"
  prune_backups
  ((${#failed[@]} == 0)) || fail "no backup of: ${failed[*]} (see above)"
}

backup_database() {
  local stem="$1"
  if ! docker exec "$DB_CONTAINER" pg_dump --format custom -U "$DB_USER" -d "$DB_NAME" >"${stem}.dump.partial"; then
    rm -f "${stem}.dump.partial"
    fail "pg_dump of ${DB_NAME} in ${DB_CONTAINER} failed: no backup written"
  fi
  mv "${stem}.dump.partial" "${stem}.dump"
  log "backup ${stem##*/}.dump ($(du -h "${stem}.dump" | cut -f1)) in ${backup_dir}"
}

# The kinds of daily backups: "dump" and "<accessory>.*", one per line.
backup_kinds() {
  printf 'dump\n'
  local accessory
  while IFS=$'\t' read -r accessory _; do
    [[ -z "$accessory" ]] || printf '%s.*\n' "$accessory"
  done <<<"$ACCESSORIES"
}

# Expired = older than the retention AND not among the newest BACKUP_RETENTION_DAYS daily ones of
# its kind: if the backups stopped for a while, the last good ones are never pruned away.
prune_backups() {
  local kind expired old
  while IFS= read -r kind; do
    expired="$(find "$backup_dir" -maxdepth 1 -name "${ENV_NAME}-*-daily.${kind}" ! -name '*.partial' -printf '%T@ %p\n' | sort -rn | tail -n +$((BACKUP_RETENTION_DAYS + 1)) |
      while read -r mtime path; do
        ((${mtime%.*} < $(date +%s) - BACKUP_RETENTION_DAYS * 86400)) && printf '%s\n' "$path"
      done || true)"
    while IFS= read -r old; do
      [[ -n "$old" ]] || continue
      rm -rf "$old"
      log "pruned ${old##*/} (older than ${BACKUP_RETENTION_DAYS} days)"
    done <<<"$expired"
  done < <(backup_kinds)
}

# This environment's backups: <env>-<time>[-tag].dump (the database) and
# <env>-<time>[-tag].<accessory>.<s3|rdb|tar> (an accessory); find's tests follow.
backup_files() { find "$backup_dir" -maxdepth 1 \( -name '*.dump' -o -name '*.s3' -o -name '*.rdb' -o -name '*.tar' \) "$@" 2>/dev/null; }

backups() {
  [[ "$DB_MODE" == "container" || -n "$ACCESSORIES" ]] || require_container_database
  if [[ -z "$(backup_files -print -quit)" ]]; then
    log "no backup in ${backup_dir} yet"
    return
  fi
  backup_files -printf '%f\t%s bytes\t%TY-%Tm-%TdT%TH:%TM\n' | sort
}

# GET http://<container>:<port><path> answers 2xx.
answers() {
  local address
  address="$(network_address "$1")"
  curl --globoff --silent --fail --output /dev/null --max-time 5 "http://${address}:$2$3"
}

# start_services CONTAINER...: start them again, wait until each answers its health check, then
# reload the switch so that it resolves their (possibly new) addresses afresh (its DNS would, within 10 s).
start_services() {
  local container service probe
  docker start "$@" >/dev/null
  for container in "$@"; do
    service="$(docker inspect -f "{{index .Config.Labels \"${SERVICE_LABEL}\"}}" "$container")"
    for probe in $SERVICE_PROBES; do
      [[ "${probe%%=*}" == "$service" ]] || continue
      probe="${probe#*=}"
      wait_until "${container}'s health check" 60 answers "$container" "${probe%%/*}" "/${probe#*/}"
    done
  done
  reload_switch_locked "reload_switch ${SWITCH_RELOAD_SECONDS}" >/dev/null || log "WARNING: the switch did not reload: it finds the services' addresses within 10 s"
  log "services started again and healthy: $*"
}

# restore NAME: the dump is checked before anything is touched (pg_restore --list reads its whole
# table of contents: a dump from a newer pg_dump, or not a dump at all, stops here); then a
# safety backup; the services stopped (nothing written meanwhile is lost); then ONE transaction
# empties the schema and replays the dump. COMMIT is sent only after pg_restore has produced
# the whole dump: a dump that breaks halfway (truncated, corrupt) ends the session without it,
# and PostgreSQL rolls everything back. The database is exactly the dump, or exactly as it was.
# An accessory's backup (.s3, .rdb, .tar) goes back into that accessory (restore_accessory).
restore() {
  local name="${1##*/}" file running accessory=""
  file="${backup_dir}/${name}"
  [[ -e "$file" ]] || fail "no backup ${name} in ${backup_dir} (list them: npm run backup -- -s ${ENV_NAME} --list)"
  case "$name" in
    *.dump)
      require_container_database
      local checked
      if ! checked="$(docker exec -i "$DB_CONTAINER" pg_restore --list <"$file" 2>&1 >/dev/null)"; then
        fail "${name} is not a dump this PostgreSQL can restore (${checked//$'\n'/ }): nothing was touched"
      fi
      ;;
    *.s3 | *.rdb | *.tar)
      accessory="${name%.*}"
      accessory="${accessory##*.}"
      check_accessory_backup "$accessory" "$file"
      ;;
    *) fail "${name} is not a backup (a .dump of the database, or an accessory's .s3, .rdb or .tar): nothing was touched" ;;
  esac
  running="$(docker ps --filter "label=${label}" --filter "label=${SERVICE_LABEL}" --format '{{.Names}}')"
  if [[ -n "$running" ]]; then
    log "stopping the services during the restore (the proxy answers 502): ${running//$'\n'/ }"
    # shellcheck disable=SC2086,SC2064 # one name per word; the names are fixed now
    { docker stop $running >/dev/null; trap "start_services ${running//$'\n'/ }" EXIT; }
  fi
  log "safety backup of ${accessory:-the database} before restoring"
  backup pre-restore "${accessory:-database}"
  if [[ -n "$accessory" ]]; then
    restore_accessory "$accessory" "$file"
    return
  fi
  log "restoring ${name} into ${DB_NAME}"
  # pg_restore's failure fails the pipeline (psql itself exits 0 on a session that ends unfinished).
  local -
  set -o pipefail
  {
    printf '%s\n' "SET client_min_messages = warning; SET lock_timeout = '30s'; BEGIN; DROP SCHEMA public CASCADE; CREATE SCHEMA public;"
    docker exec -i "$DB_CONTAINER" pg_restore --no-owner -f - <"$file" && printf '%s\n' "COMMIT;"
  } | docker exec -i "$DB_CONTAINER" psql -q -X -v ON_ERROR_STOP=1 -U "$DB_USER" -d "$DB_NAME" >/dev/null ||
    fail "restore of ${name} failed: the database is unchanged (one transaction, rolled back)"
  log "restored ${name}"
}
