# Jobs: the stack's scheduled `jobs` (the deploy user's crontab runs `runtime.sh job NAME`) and
# one-off commands (`npm run ops -- run`). Each runs in a one-off container of a service's live
# image, with its live container's environment (copied to a private file, never argv), on the
# environment's network. $JOBS: one line per job, "name<TAB>service<TAB>deadline<TAB>schedule<TAB>command".

# A running live container of service $1 (the first of its replicas that runs); fails when it has none.
live_container_of() {
  local live container
  live="$(switch_live "$1")" || fail "cannot read the switch's configuration (is ${SWITCH} running?)"
  for container in $live; do
    if [[ "$(docker inspect -f '{{.State.Running}}' "$container" 2>/dev/null || true)" == true ]]; then
      printf '%s' "$container"
      return 0
    fi
  done
  fail "service $1 has no running live container: deploy it first (pulumi up -s ${ENV_NAME})"
}

# The environment of container $1, in a new file only this user reads; prints its path.
live_env_file() {
  local file
  file="$(umask 077 && mktemp)"
  docker inspect -f "$env_template" "$1" | sed '/^$/d' >"$file" || {
    rm -f "$file"
    fail "cannot read the environment of $1"
  }
  printf '%s' "$file"
}

# What a one-off command of service $1 runs with: its live container ($live), that container's
# image ($image) and environment ($env_file, removed on exit).
one_off_inputs() {
  live="$(live_container_of "$1")"
  image="$(docker inspect -f '{{.Image}}' "$live")"
  env_file="$(live_env_file "$live")"
  # shellcheck disable=SC2064 # the file name is fixed now
  trap "rm -f '${env_file}'" EXIT
}

# Keeps a job's log under 1 MiB: the last half when it grows past.
trim_job_log() {
  [[ -f "$1" ]] && (($(stat -c %s "$1") > 1048576)) || return 0
  tail -c 524288 "$1" >"$1.trim" && cat "$1.trim" >"$1" && rm -f "$1.trim"
}

# `job NAME`: one run, what the schedule starts. One at a time: a run due while the previous one
# still runs is skipped. Its output goes where the schedule sends it (the job's log).
run_job() {
  local name="$1" line service deadline command live image env_file started
  line="$(awk -F'\t' -v name="$name" '$1 == name' <<<"$JOBS")"
  [[ -n "$line" ]] || fail "no job ${name} in this deployment"
  IFS=$'\t' read -r _ service deadline _ command <<<"$line"
  mkdir -p "${HOME}/${LOCKS_DIR}"
  exec 7>"${HOME}/${LOCKS_DIR}/${JOB_SCHEDULE_PREFIX}${name}.lock"
  if ! flock -n 7; then
    log "job ${name}: the previous run still runs: this one is skipped"
    return 0
  fi
  trim_job_log "${state_dir}/${JOB_SCHEDULE_PREFIX}${name}.log"
  one_off_inputs "$service"
  started=$SECONDS
  log "job ${name} started: ${command} (image of ${live}: ${image:7:12}; ${deadline}s deadline)"
  run_one_off "${JOB_CONTAINER_PREFIX}${name}-$(date +%s)" "$image" "$env_file" "$deadline" "$command" "$label" "${JOB_LABEL}=${name}"
  rm -f "$env_file"
  log "job ${name} finished: exit ${one_off_status} after $((SECONDS - started))s"
  [[ "$one_off_status" == 0 ]]
}

# `run SERVICE COMMAND`: COMMAND (sh -c) in a one-off container of the service's live image with
# its environment, attached (a terminal when there is one); exits with the command's code.
run_command() {
  local service="$1" command="$2" live image env_file tty=() status=0
  one_off_inputs "$service"
  if [[ -t 0 && -t 1 ]]; then tty=(-t); fi
  log "one-off ${service}: ${command} (image of ${live}: ${image:7:12})" >&2
  docker run --rm -i "${tty[@]}" --name "${JOB_CONTAINER_PREFIX}run-$(date +%s)-$$" --network "$NETWORK" --env-file "$env_file" \
    --label "$label" --entrypoint sh "$image" -c "$command" || status=$?
  rm -f "$env_file"
  return "$status"
}

# The jobs the crontab schedules for this environment, one name per line.
scheduled_jobs() {
  crontab -l 2>/dev/null | awk -v tag="${CRONTAB_TAG}${JOB_SCHEDULE_PREFIX}" '{ at = index($0, tag); if (at) print substr($0, at + length(tag)) }'
}

# The crontab has a line per declared job, and none for a job no longer declared.
schedule_jobs() {
  local name schedule scheduled
  while IFS=$'\t' read -r name _ _ schedule _; do
    [[ -z "$name" ]] || schedule "${JOB_SCHEDULE_PREFIX}${name}" "$schedule" "job ${name}"
  done <<<"$JOBS"
  command -v crontab >/dev/null 2>&1 || return 0
  for scheduled in $(scheduled_jobs); do
    awk -F'\t' -v name="$scheduled" '$1 == name { found = 1 } END { exit !found }' <<<"$JOBS" || unschedule "${JOB_SCHEDULE_PREFIX}${scheduled}"
  done
}

# Every job's schedule goes (the environment goes).
unschedule_jobs() {
  local scheduled
  command -v crontab >/dev/null 2>&1 || return 0
  for scheduled in $(scheduled_jobs); do
    unschedule "${JOB_SCHEDULE_PREFIX}${scheduled}"
  done
}
