# Verify: the host against what the last deployment left (npm run drift).
drift_count=0
drift() {
  drift_count=$((drift_count + 1))
  printf 'drift: %s\n' "$*"
}

# check_runtime_container NAME IMAGE SPEC
check_runtime_container() {
  local state
  state="$(docker inspect -f "{{.State.Status}} {{.Config.Image}} {{index .Config.Labels \"${SPEC_LABEL}\"}}" "$1" 2>/dev/null || true)"
  if [[ -z "$state" ]]; then
    drift "$1 is missing (expected ${2})"
  elif [[ "$state" != "running $2 $3" ]]; then
    drift "$1: found \"${state}\", expected \"running $2 $3\" (status, image, spec)"
  fi
}

verify() {
  require_docker
  [[ "$DB_MODE" != "container" ]] || check_runtime_container "$DB_CONTAINER" "$DB_IMAGE" "$DB_SPEC"
  check_runtime_container "$SWITCH" "$SWITCH_IMAGE" "$SWITCH_SPEC"
  check_runtime_container "$EDGE" "$NGINX_IMAGE" "$EDGE_SPEC"
  local service record live containers container image_id env status name
  for service in $SERVICES; do
    record="${deployments_dir}/${service}"
    if [[ ! -f "$record" ]]; then
      drift "service ${service}: no deployment recorded on this host (${record})"
      continue
    fi
    # The live containers, one per replica (comma-separated in the record, spaces in the switch's file).
    read -r containers image_id env _ <"$record"
    containers="${containers//,/ }"
    live="$(switch_live "$service" 2>/dev/null || true)"
    [[ "$live" == "$containers" ]] || drift "service ${service}: the switch sends traffic to \"${live:-nothing}\", the deployment left ${containers}"
    for container in $containers; do
      status="$(docker inspect -f '{{.State.Status}} {{.Image}}' "$container" 2>/dev/null || true)"
      if [[ -z "$status" ]]; then
        drift "service ${service}: container ${container} is missing"
        continue
      fi
      [[ "${status%% *}" == "running" ]] || drift "service ${service}: ${container} is ${status%% *}, expected running"
      [[ "${status#* }" == "$image_id" ]] || drift "service ${service}: ${container} runs image ${status#* }, the deployment started ${image_id}"
      [[ "$(env_hash "$container")" == "$env" ]] || drift "service ${service}: ${container}'s environment differs from the deployed one"
    done
  done
  # Accessories: running their image, their volume there (their settings' hash needs their secrets: not checked).
  local image accessories=()
  while IFS=$'\t' read -r name _ image _; do
    [[ -n "$name" ]] || continue
    accessories+=(-e "${ACCESSORY_PREFIX}${name}")
    status="$(docker inspect -f '{{.State.Status}} {{.Config.Image}}' "${ACCESSORY_PREFIX}${name}" 2>/dev/null || true)"
    [[ "$status" == "running ${image}" ]] || drift "accessory ${name}: ${ACCESSORY_PREFIX}${name} is \"${status:-missing}\", expected \"running ${image}\""
    docker volume inspect "${ACCESSORY_PREFIX}${name}" >/dev/null 2>&1 || drift "accessory ${name}: its volume ${ACCESSORY_PREFIX}${name} is missing"
  done <<<"$ACCESSORIES"
  if [[ "$DB_MODE" == "container" || -n "$ACCESSORIES" ]]; then
    crontab -l 2>/dev/null | grep -qF "${CRONTAB_TAG}backup" || drift "no daily backup scheduled in $(id -un)'s crontab (install cron, then pulumi up)"
    # Each kind's newest daily backup (the database's, each accessory's): one failing every night shows.
    local kind newest what
    while IFS= read -r kind; do
      [[ "$kind" != dump || "$DB_MODE" == "container" ]] || continue
      newest="$(find "$backup_dir" -maxdepth 1 -name "${ENV_NAME}-*-daily.${kind}" ! -name '*.partial' -printf '%T@\n' 2>/dev/null | sort -rn | head -n 1)"
      if [[ -n "$newest" ]] && ((${newest%.*} < $(date +%s) - 26 * 3600)); then
        what="${kind%.\*}"
        [[ "$what" != dump ]] || what="the database"
        drift "the newest daily backup of ${what} is older than 26 hours (see ${state_dir}/backup.log)"
      fi
    done < <(backup_kinds)
  fi
  local schedule
  while IFS=$'\t' read -r name _ _ schedule _; do
    [[ -z "$name" ]] || crontab -l 2>/dev/null | grep -qF "${CRONTAB_TAG}${JOB_SCHEDULE_PREFIX}${name}" ||
      drift "job ${name} (${schedule}) is not scheduled in $(id -un)'s crontab (install cron, then pulumi up)"
  done <<<"$JOBS"
  local expected=(-e "$SWITCH" -e "$EDGE") stray
  [[ "$DB_MODE" != "container" ]] || expected+=(-e "$DB_CONTAINER")
  expected+=("${accessories[@]}")
  for service in $SERVICES; do
    [[ ! -f "${deployments_dir}/${service}" ]] || expected+=(-e "$(cut -d' ' -f1 "${deployments_dir}/${service}" | tr , '\n')")
    # The previous version, while the rollout's background part drains and stops it.
    [[ ! -s "${deployments_dir}/${service}.draining" ]] || expected+=(-e "$(cat "${deployments_dir}/${service}.draining")")
  done
  # A job's or a one-off command's container runs for a while: not a stray.
  for stray in $(docker ps -a --filter "label=${label}" --format '{{.Names}}' | grep -vxF "${expected[@]}" | grep -v "^${JOB_CONTAINER_PREFIX}" || true); do
    drift "container ${stray} is not part of the deployment"
  done
  if ((drift_count > 0)); then
    log "${drift_count} difference(s) between the host and the deployment"
    exit 3
  fi
  log "host matches the deployment"
}
