# The host runtime of an environment (entry point; components/runtime/runtime.ts renders it with
# the typed spec and the concerns: docker.sh, proxy.sh, tls.sh, data.sh, verify.sh, maintenance.sh,
# jobs.sh).
# Installed under ~/.permacoop/<env>/scripts by content hash; ~/.permacoop/<env>/runtime.sh links
# to the current one (schedules and the day-2 commands run it). Actions:
#   data            idempotent: the database volume, the backup schedule (container database)
#   drop-data       the database volume (kept when PERMACOOP_KEEP_DATA=1) and its schedule; backups stay
#   up              idempotent: network, volumes, database, switch, edge
#   down            everything but the data (see drop-data)
#   proxy           read the edge configurations (HTTP, HTTPS) on stdin, apply the right one
#   certificate     issue or renew the certificate (certbot, HTTP-01), then switch to HTTPS
#   renew           what the twice-daily schedule runs: certbot renew, reload on change
#   remove-service NAME
#   backup [TAG]    pg_dump of the container database, and each accessory's data, into ~/.permacoop/<env>/backups
#   backups         the backups on this host
#   restore NAME    restore one (after a safety backup), in a single transaction
#   verify          compare the containers with what the last deployment left (drift)
#   maintenance on|off|status   the edge's maintenance mode (on: the flag file, ---, the page on stdin)
#   job NAME        one run of a scheduled job (what its crontab line runs)
#   accessory NAME [SETTINGS]  idempotent: an accessory's volume and container (its env file on
#                   stdin), ready; SETTINGS (its config, for the preview's diff) is not read: the spec is
#   drop-accessory NAME [LINE]   a final backup, its container and volume (kept when
#                   PERMACOOP_KEEP_DATA=1); backups stay
#   run SERVICE COMMAND   a one-off container of the service's live image (npm run ops -- run)

up() {
  require_docker
  make_current
  ensure_network
  up_database
  up_proxy
  # The daily backup, of the container database and the accessories: scheduled here only (every
  # change of the runtime's settings runs `up`, the data and accessory steps' changes included).
  if [[ "$DB_MODE" == "container" || -n "$ACCESSORIES" ]]; then
    schedule backup "${BACKUP_MINUTE} ${BACKUP_HOUR} * * *" "backup daily"
  else
    unschedule backup
  fi
  schedule_jobs
  log "runtime is up"
}

remove_service() {
  local service="$1" containers
  containers="$(docker ps -a --filter "label=${label}" --filter "label=${SERVICE_LABEL}=${service}" --format '{{.Names}}')"
  if [[ -n "$containers" ]]; then
    log "removing service ${service}: ${containers//$'\n'/ }"
    # shellcheck disable=SC2086 # one name per word
    docker rm -f $containers >/dev/null
  fi
  reload_switch_locked "rm -f \"\$conf_dir/${service}.cfg\"* && reload_switch ${SWITCH_RELOAD_SECONDS}" >/dev/null 2>&1 || true
  rm -f "${deployments_dir}/${service}" "${deployments_dir}/${service}".*
}

down() {
  local containers volumes
  # The last state of the data, whatever happens to the volume next (drop-data, a VM's disk).
  if [[ "$DB_MODE" == "container" && "$(docker inspect -f '{{.State.Running}}' "$DB_CONTAINER" 2>/dev/null)" == "true" ]]; then
    # The database only: each accessory took its own when its step removed it (drop-accessory).
    (backup final database) || log "WARNING: no final backup (see above)"
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
    # The data's volumes go with their own steps (drop-data, drop-accessory), or stay.
    [[ "$volume" != "$DB_VOLUME" && "$volume" != "${ACCESSORY_PREFIX}"* ]] || continue
    log "removing volume ${volume}"
    docker volume rm "$volume" >/dev/null
  done
  unschedule renew
  unschedule_jobs
  [[ "$DB_MODE" == "container" ]] || unschedule backup
  rm -rf "$deployments_dir"
  # With a container database the runtime serves backups until the data goes (drop-data); a
  # managed database goes with the stack, and the records of its releases with it.
  [[ "$DB_MODE" == "container" ]] || rm -rf "$runtime_link" "$releases_dir"
  log "runtime removed"
}

# A repair (npm run drift -- --repair) replays the last deployment recorded in the state: when the
# host has since run another deployment's runtime, leave it alone rather than roll it back.
if [[ "${PERMACOOP_REPAIR:-0}" == "1" && -e "$runtime_link" && "$(readlink -f "$runtime_link")" != "$(readlink -f "$0")" ]]; then
  log "repair: the host runs another deployment's runtime: left alone"
  exit 0
fi

if other_owner; then
  case "${1:-}" in
    down | drop-data | remove-service | drop-accessory) log "${ENV_NAME} on this host belongs to another stack: left alone"; exit 0 ;;
    *) fail "$owner_refusal" ;;
  esac
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
  maintenance) maintenance "${2:-}" ;;
  job) require_docker && run_job "${2:?job name}" ;;
  run) require_docker && run_command "${2:?service name}" "${3:?command}" ;;
  accessory) accessory "${2:?accessory name}" ;;
  drop-accessory) drop_accessory "${2:?accessory name}" "${3:-}" ;;
  *) fail "usage: runtime.sh up|down|proxy|certificate|renew|remove-service NAME|data [create|update]|drop-data|backup [TAG]|backups|restore NAME|verify|maintenance on|off|status|job NAME|run SERVICE COMMAND|accessory NAME|drop-accessory NAME" ;;
esac
