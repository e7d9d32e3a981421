# The rollout of one service (entry point; components/rollout/rollout.ts renders it with the typed
# spec, the switch file template and lib.sh). Installed under ~/.permacoop/<env>/scripts by content hash.
# Zero-downtime, health-gated rollout of one service (its REPLICAS containers), read as a runbook:
#   lock -> pull -> release -> start -> clean up -> health-check -> switch -> drain -> stop -> prune
# The service's environment (NAME=value lines, secrets included) arrives on stdin and only
# ever touches a private temporary file: never argv, never the log.
set -euo pipefail

step_no=0
rollout_started="$EPOCHREALTIME"
# Seconds since $1 (an $EPOCHREALTIME), with milliseconds.
since() { awk -v start="$1" -v now="$EPOCHREALTIME" 'BEGIN { printf "%.3f", now - start }'; }
log() { printf '[rollout %s/%s] %s\n' "$ENV_NAME" "$SERVICE" "$*"; }
step() {
  step_no=$((step_no + 1))
  log "step ${step_no} ${1} (+$(since "$rollout_started")s): ${2}"
}
fail() {
  log "FAILED: $*" >&2
  exit 1
}

label_env="${ENV_LABEL}"
label_service="${SERVICE_LABEL}=${SERVICE}"
switch_file="${SWITCH_CONF_DIR}/${SERVICE}.cfg"

workdir="$(mktemp -d)"
chmod 700 "$workdir"
new_containers=""
release_container=""
switch_pid=""
switch_read_pid=""
live=""
live_slot=blue
live_state=""
switch_file_now=""
from_image="none"
audit_outcome="failed"
# Every rollout leaves a line on the host: who, when, from which image to which, and how it ended.
audit_log="${PERMACOOP_AUDIT_LOG:-${HOME}/${AUDIT_LOG}}"
audit() {
  mkdir -p "$(dirname "$audit_log")"
  # owner: the stack that rolled out (the log outlives a destroy; a rollback reads its own lines only).
  printf '%s\tservice=%s\tactor=%s\tfrom=%s\tto=%s\toutcome=%s\towner=%s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$SERVICE" "$(audit_actor)" "$from_image" "$IMAGE" "$1" "${PERMACOOP_OWNER:-}" >>"$audit_log"
}
cleanup() {
  local status=$?
  if [[ -n "$release_container" ]]; then docker rm -f "$release_container" >/dev/null 2>&1 || true; fi
  drop_switch
  if [[ -n "$switch_read_pid" ]]; then wait "$switch_read_pid" 2>/dev/null || true; fi
  if [[ $status -ne 0 && -n "$new_containers" ]]; then
    log "removing ${new_containers}: traffic stays on the live version"
    # shellcheck disable=SC2086 # one name per word
    docker rm -f $new_containers >/dev/null 2>&1 || true
  fi
  if [[ -n "${audit_started:-}" ]]; then
    [[ $status -eq 0 ]] || audit_outcome="failed"
    audit "$audit_outcome"
  fi
  rm -rf "$workdir"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

other_owner && fail "$owner_refusal"

# --- lock: two rollouts of one service never interleave on a host -----------------------
step lock "waiting for the host lock of ${SERVICE}"
# In the deploy user's own directory: a shared /tmp may hold another user's file of that name.
lock_dir="${PERMACOOP_LOCK_DIR:-${HOME}/${LOCKS_DIR}}"
mkdir -p "$lock_dir"
exec 9>"${lock_dir}/${SERVICE}.lock"
flock -w 600 9 || fail "another rollout of ${SERVICE} held the lock for 10 minutes"

envfile="${workdir}/env"
(umask 077 && cat >"$envfile")

# Everything this rollout prints reaches the engine's log (and a failure's message): the values
# of the service's secret variables are masked in it, whoever prints them (the app's log tail, a
# release's output). The values travel to awk in its environment, never in argv.
secret_values="$(for name in $SECRET_VARIABLES; do sed -n "s/^${name}=//p" "$envfile"; done)"
scrub_secrets() {
  PERMACOOP_MASK="$secret_values" awk '
    BEGIN { n = split(ENVIRON["PERMACOOP_MASK"], secret, "\n") }
    {
      for (i = 1; i <= n; i++) {
        if (length(secret[i]) < 4) continue
        while ((at = index($0, secret[i])) > 0) $0 = substr($0, 1, at - 1) "[secret]" substr($0, at + length(secret[i]))
      }
      print
      fflush()
    }'
}
if [[ -n "$secret_values" ]]; then
  exec > >(scrub_secrets) 2> >(scrub_secrets >&2)
fi
spec_hash="$( (printf '%s\n' "$IMAGE" "$PORT" "$HEALTH_PATH"; cat "$envfile") | sha256sum | cut -c1-16)"

# What the rollout starts from, read at the same time (each docker call costs 20-100 ms): the
# service's containers (name, state, spec and image labels) and whether the image is on the
# host; and the switch's file of the service, read by a docker exec (the slowest), which the
# start of the new version does not wait for (read_switch_file).
start_host_reads() {
  local seen="${workdir}/seen" containers_pid image_pid
  mkdir "$seen"
  docker exec "$SWITCH" sh -c "cat ${switch_file} 2>/dev/null || true" >"${seen}/switch" &
  switch_read_pid=$!
  docker ps -a --filter "label=${label_env}" --filter "label=${label_service}" \
    --format "{{.Names}} {{.State}} {{.Label \"${SPEC_LABEL}\"}} {{.Label \"${IMAGE_LABEL}\"}}" >"${seen}/containers" &
  containers_pid=$!
  docker image inspect "$IMAGE" >/dev/null 2>&1 &
  image_pid=$!
  image_present=true
  wait "$image_pid" || image_present=false
  wait "$containers_pid" || fail "cannot list the containers of ${SERVICE} (docker ps, above)"
  containers="$(cat "${seen}/containers")"
}
# The containers the switch sends the service's traffic to ($live: one per replica, space-separated;
# "" before the first rollout), their slot, and whether they all run this spec ($live_state). Not
# knowing is fatal: the cleanup would take the live version for a leftover.
read_switch_file() {
  [[ -n "$switch_read_pid" ]] || return 0
  local status=0
  wait "$switch_read_pid" || status=$?
  switch_read_pid=""
  ((status == 0)) || fail "cannot read the switch's configuration (is ${SWITCH} running?)"
  switch_file_now="$(cat "${workdir}/seen/switch")"
  live="$(sed -n 's/^# live: //p' <<<"$switch_file_now")"
  live_slot="$(sed -n 's/^# slot: //p' <<<"$switch_file_now")"
  live_slot="${live_slot:-blue}"
  live_state=""
  if [[ -n "$live" ]]; then
    # "current" when every live container runs this spec, one per replica.
    live_state="$(awk -v live="$live" -v spec="$spec_hash" -v replicas="$REPLICAS" '
      BEGIN { n = split(live, l, " "); for (i = 1; i <= n; i++) want[l[i]] = 1 }
      ($1 in want) { seen++; if ($2 != "running" || $3 != spec) stale = 1; if (!image) image = $4 }
      END { print (seen == n && n == replicas && !stale ? "current" : "changed"), (image ? image : "unknown") }' <<<"$containers")"
    from_image="${live_state#* }"
  fi
}
container_running() {
  [[ "$(docker inspect -f '{{.State.Running}}' "$1" 2>/dev/null || true)" == "true" ]]
}

# What `runtime.sh verify` (npm run drift) compares the host with: the live containers (one per
# replica, comma-separated), the image they were started from, and a hash of their environment.
record_file="${HOME}/${DEPLOYMENTS_DIR}/${SERVICE}"
# record_deployment "CONTAINER..." IMAGE_ID ENV_HASH
record_deployment() {
  mkdir -p "${record_file%/*}"
  printf '%s %s %s %s\n' "${1// /,}" "$2" "$3" "$spec_hash" >"${record_file}.next"
  mv "${record_file}.next" "$record_file"
}

# The ports the installed switch file listens on, other than SWITCH_PORT, that the edge still
# routes to: an upgrade of the program moved the service's port, and the edge follows only
# after every rollout. Until it has, the switch answers on both; the next rollout drops the old.
carried_ports() {
  local port
  # shellcheck disable=SC2013 # one port per line, a word each
  for port in $(sed -n 's/^ *bind :\([0-9]*\)$/\1/p' <<<"$switch_file_now"); do
    [[ "$port" == "$SWITCH_PORT" ]] && continue
    if docker exec "$EDGE" grep -rqF "${SWITCH}:${port};" /etc/nginx/conf.d 2>/dev/null; then printf '%s\n' "$port"; fi
  done
}

# This version's switch file of the service, containers $1 (space-separated) live in slot $2.
render_switch_config() {
  # shellcheck disable=SC2046 # one port per word
  render_switch_file "$SERVICE" "$1" "$2" "$PORT" "$READ_TIMEOUT" "$REPLICAS" "$SWITCH_PORT" $(carried_ports)
}

# One service at a time changes the switch on a host (a lock): a reload then carries exactly the
# files written before it, and no change through the admin socket is lost to a reload.
lock_switch() {
  exec 8>"$(switch_lock_file)"
  flock -w 600 8 || fail "another rollout held the switch's lock for 10 minutes"
}

# The switch file of the service with containers $1 live in slot $2, applied by a reload (the
# service is new, or its ports or file changed). Prints the switch's processes from before, which
# may still carry requests to what the file replaced.
install_switch_config() {
  lock_switch
  local status=0
  render_switch_config "$1" "$2" | in_switch -i "
    set -e
    workers=\"\$(haproxy_workers | tr '\\n' ' ')\"
    cat > ${switch_file}.next
    install_switch_file ${switch_file} ${SWITCH_RELOAD_SECONDS} || exit \$?
    echo \"\$workers\"
  " || status=$?
  flock -u 8
  case "$status" in
    0) ;;
    2) fail "the switch did not take the new configuration within ${SWITCH_RELOAD_SECONDS}s (see docker logs ${SWITCH}); the previous one stays" ;;
    *) fail "the switch rejected the new configuration (haproxy -c, above); the previous one stays" ;;
  esac
}

# The switch's side of moving the service's traffic to containers $1 (addresses $2, space-separated)
# in slot $3, the $5 servers of the live slot $4 draining, through the admin socket (no reload): started while the app boots, so
# that the docker exec (50-150 ms) is not paid after the health check. It waits for "go" and the
# service's new file (the record for the switch's next start) on a pipe; without "go" (the
# health check failed) it changes nothing.
prepare_switch() {
  mkfifo "${workdir}/switch.in"
  in_switch -i "
    read -r go && [[ \"\$go\" == go ]] || exit 3
    cat > ${switch_file}.next
    if ! switch_to ${SERVICE} $3 '$1' '$2' ${PORT} $4 $5; then
      switch_back ${SERVICE} $3 ${REPLICAS} $4 $5
      rm -f ${switch_file}.next
      exit 1
    fi
    mv ${switch_file}.next ${switch_file}
  " <"${workdir}/switch.in" &
  switch_pid=$!
  exec 6>"${workdir}/switch.in"
}
# An unused prepared switch goes (it changes nothing without "go").
drop_switch() {
  [[ -n "$switch_pid" ]] || return 0
  exec 6>&-
  wait "$switch_pid" 2>/dev/null || true
  switch_pid=""
}

# Moves the traffic as prepared (containers $1 in slot $2), under the switch's lock.
switch_traffic() {
  lock_switch
  local status=0
  { printf 'go\n'; render_switch_config "$1" "$2"; } >&6
  exec 6>&-
  wait "$switch_pid" || status=$?
  switch_pid=""
  flock -u 8
  ((status == 0)) || fail "the switch did not move ${SERVICE} to $1 (its admin socket refused, see docker logs ${SWITCH}); the previous version stays"
}

# A repair (npm run drift -- --repair) replays the last deployment recorded in the state: it must
# never roll back a newer one that happened since.
# A host with no trace of the service (rebuilt, or its containers gone) gets the recorded one.
if [[ "${PERMACOOP_REPAIR:-0}" == "1" ]]; then
  recorded_spec=""
  if [[ -f "$record_file" ]]; then read -r _ _ _ recorded_spec <"$record_file"; fi
  if [[ -n "$recorded_spec" && "$recorded_spec" != "$spec_hash" ]] || [[ -z "$recorded_spec" && -n "$(switch_live "$SERVICE" 2>/dev/null || true)" ]]; then
    log "repair: the host's last deployment of ${SERVICE} is another one (${recorded_spec:-none recorded}): left alone"
    exit 0
  fi
fi

start_host_reads
# Only a running container of this very spec can mean there is nothing to do: then the switch
# says whether it is the live one. Otherwise the new version starts without waiting for it.
if awk -v spec="$spec_hash" '$2 == "running" && $3 == spec { found = 1 } END { exit !found }' <<<"$containers"; then
  read_switch_file
fi
if [[ -n "$live" && "$live_state" == "current "* ]]; then
  log "${live} already run this image and environment: nothing to do"
  # The switch file as this version renders it (an upgrade of the program may change it).
  if [[ "$(render_switch_config "$live" "$live_slot")" != "$switch_file_now" ]]; then
    log "updating the switch's configuration of ${SERVICE} (same containers)"
    install_switch_config "$live" "$live_slot" >/dev/null
  fi
  read -r _ live_image_id live_env_hash < <(container_facts "${live%% *}") || fail "cannot inspect ${live%% *}"
  record_deployment "$live" "$live_image_id" "$live_env_hash"
  exit 0
fi

audit_started=1

# --- pull ---------------------------------------------------------------------------------
step pull "$IMAGE"
if [[ "$PULL_POLICY" == "always" || "$image_present" != true ]]; then
  [[ "$PULL_POLICY" == "never" ]] && fail "image ${IMAGE} is not on the host and pull policy is never"
  docker pull --quiet "$IMAGE" >/dev/null || fail "cannot pull ${IMAGE}"
fi

# --- release: the new version's one-off command (migrations), once per version ---------------
# Before the new version takes traffic, while the live one still serves: a failure stops here.
if [[ -n "$RELEASE_COMMAND" ]]; then
  image_id="$(docker image inspect -f '{{.Id}}' "$IMAGE")"
  release_record="${HOME}/${RELEASES_DIR}/${SERVICE}"
  if [[ -f "$release_record" ]] && grep -qxF "$image_id" "$release_record"; then
    step release "already done for this version (${image_id:7:12}): skipped"
  else
    step release "${RELEASE_COMMAND} (one-off container of ${IMAGE}, ${RELEASE_TIMEOUT}s deadline)"
    if [[ "$RELEASE_DUMP" == true ]]; then
      log "a dump of the database first"
      bash "${HOME}/${RUNTIME_LINK}" backup "release-${SERVICE}" || fail "no dump of the database: the release did not run, ${SERVICE} stays on the live version"
    fi
    release_container="${CONTAINER_PREFIX}release-$(date +%s)"
    release_started="$EPOCHREALTIME"
    run_one_off "$release_container" "$IMAGE" "$envfile" "$RELEASE_TIMEOUT" "$RELEASE_COMMAND" "$label_env" "$label_service" "${IMAGE_LABEL}=${IMAGE}"
    release_status="$one_off_status"
    release_container=""
    if [[ "$release_status" == timeout ]]; then
      fail "the release command ran past its ${RELEASE_TIMEOUT}s deadline and was stopped: ${SERVICE} stays on the live version"
    fi
    if [[ "$release_status" != 0 ]]; then
      fail "the release command exited with code ${release_status}: ${SERVICE} stays on the live version"
    fi
    mkdir -p "${release_record%/*}"
    printf '%s\n' "$image_id" >>"$release_record"
    log "release done in $(since "$release_started")s"
  fi
fi

# --- start --------------------------------------------------------------------------------
# One container per replica, started at once: they boot side by side.
new_base="${CONTAINER_PREFIX}$(date +%s)-${spec_hash:0:6}"
for ((replica = 1; replica <= REPLICAS; replica++)); do
  if ((REPLICAS == 1)); then new_containers="$new_base"; else new_containers+="${new_containers:+ }${new_base}-${replica}"; fi
done
step start "$new_containers"
for container in $new_containers; do
  docker run --detach --name "$container" \
    --network "$NETWORK" \
    --env-file "$envfile" \
    --label "$label_env" --label "$label_service" --label "${SPEC_LABEL}=${spec_hash}" \
    --label "${IMAGE_LABEL}=${IMAGE}" \
    --restart unless-stopped \
    --log-opt max-size=10m --log-opt max-file=3 \
    "$IMAGE" >/dev/null
done
rm -f "$envfile"
# What the switch serves (its file, read since the rollout began).
read_switch_file

# --- clean up what an interrupted rollout left behind --------------------------------------
step cleanup "removing containers of ${SERVICE} that are neither live nor new"
while read -r container _; do
  if [[ -n "$container" && " ${live} ${new_containers} " != *" ${container} "* ]]; then
    log "removing leftover ${container}"
    docker rm -f "$container" >/dev/null </dev/null
  fi
done <<<"$containers"

# --- health-check -------------------------------------------------------------------------
# While the apps boot: their addresses, and what the deployment record keeps of them (every
# replica runs the same image and environment).
new_addresses=()
for container in $new_containers; do
  read -r address new_image_id new_env_hash < <(container_facts "$container") || fail "cannot inspect ${container}"
  [[ "$address" != "-" ]] || fail "${container} has no address on ${NETWORK} (did it exit at once? docker logs ${container})"
  new_addresses+=("$address")
done
addresses="${new_addresses[*]}"
live_count="$(wc -w <<<"$live")"
if [[ -n "$live" ]]; then
  new_slot=green
  [[ "$live_slot" == green ]] && new_slot=blue
  prepare_switch "$new_containers" "$addresses" "$new_slot" "$live_slot" "$live_count"
fi
step health-check "GET http://<address>:${PORT}${HEALTH_PATH} of each of ${REPLICAS} container(s) (${addresses}) every ${HEALTH_INTERVAL}s, ${HEALTH_TIMEOUT}s timeout, ${HEALTH_DEADLINE}s deadline"
started=$SECONDS
started_at="$EPOCHREALTIME"
# health_check CONTAINER ADDRESS: until the container answers 2xx/3xx on the health path, within
# the deadline (shared: the replicas boot side by side). Sets last_probe.
health_check() {
  local container="$1" url="http://$2:${PORT}${HEALTH_PATH}" polls=0 code
  last_probe=""
  # Until the port opens, poll it cheaply (20 ms, whether the container still runs every 0.5 s:
  # an inspect costs more than a poll): the first HTTP probe then comes as soon as the app
  # listens, and later probes keep the configured interval.
  until (exec 3<>"/dev/tcp/$2/${PORT}") 2>/dev/null; do
    polls=$((polls + 1))
    if ((polls % 25 == 0)); then container_running "$container" || break; fi
    ((SECONDS - started < HEALTH_DEADLINE)) || break
    sleep 0.02
  done
  while ((SECONDS - started < HEALTH_DEADLINE)); do
    if ! container_running "$container"; then
      last_probe="the container exited ($(docker inspect -f '{{.State.Status}} code {{.State.ExitCode}}' "$container"))"
      return 1
    fi
    if code="$(curl --globoff --silent --show-error --output /dev/null --write-out '%{http_code}' --max-time "$HEALTH_TIMEOUT" "$url" 2>&1)"; then
      [[ ! "$code" =~ ^[23] ]] || return 0
      last_probe="HTTP ${code}"
    else
      last_probe="${code}"
    fi
    sleep "$HEALTH_INTERVAL"
  done
  return 1
}
replica=0
for container in $new_containers; do
  if ! health_check "$container" "${new_addresses[replica]}"; then
    log "health check of ${container} failed after $((SECONDS - started))s; last probe: ${last_probe:-none}"
    log "last lines of ${container}'s log:"
    docker logs --tail 30 "$container" 2>&1 | sed 's/^/    /'
    fail "${container} never became healthy"
  fi
  replica=$((replica + 1))
done
log "healthy after $(since "$started_at")s"

# --- switch -------------------------------------------------------------------------------
old_workers=""
if [[ -z "$live" ]]; then
  switch_how="a new service: the switch reloads"
else
  switch_how="slot ${new_slot}; ${live} drains"
fi
step switch "${SERVICE} -> ${new_containers} (switch port ${SWITCH_PORT}, ${switch_how})"
if [[ -z "$live" ]]; then
  install_switch_config "$new_containers" blue >/dev/null || exit 1
else
  # The file's shape first (ports moved, or this program writes it otherwise): a reload, with
  # the live version still live. Its previous processes may still carry requests to it.
  if [[ "$(render_switch_config "$live" "$live_slot")" != "$switch_file_now" ]]; then
    log "the switch's file of ${SERVICE} changes shape: reloading it first, ${live} still live"
    old_workers="$(install_switch_config "$live" "$live_slot")" || exit 1
  fi
  switch_traffic "$new_containers" "$new_slot"
fi
new_containers_live="$new_containers"
new_containers="" # from here on, the new version is live: never remove it on failure
record_deployment "$new_containers_live" "$new_image_id" "$new_env_hash"

# Time to traffic first: the new version serves now, and what follows (drain, stop, prune) runs
# in the background, so that `pulumi up` goes on. It keeps this service's lock until it is done:
# the next rollout of the service waits for it, and cleans up what it left if it was killed
# (a reboot). Its log: ~/${DEPLOYMENTS_DIR}/<service>.finish.log; `verify` knows the container it
# drains (<service>.draining).
audit_outcome="succeeded"
finish_log="${record_file}.finish.log"
# shellcheck disable=SC2086 # one name per line
[[ -z "$live" ]] || printf '%s\n' $live >"${record_file}.draining"
# Its own process group (job control on for that one job): the engine ends a local command's
# provider by signalling its whole group (SIGINT, then SIGKILL) when `pulumi up` is done, which
# would interrupt a drain or a stop half-way.
set -m
(
  exec </dev/null >"$finish_log" 2>&1
  # --- drain --------------------------------------------------------------------------------
  if [[ -n "$live" ]]; then
    step drain "waiting for the requests ${live} carries to finish (up to ${DRAIN_SECONDS}s)"
    # The draining slot takes no new request; when it carries none, and the processes a reload
    # left are gone, nothing can reach the previous version any more.
    if ! in_switch "drain_slot ${SERVICE} ${live_slot} ${DRAIN_SECONDS} ${old_workers}"; then
      log "drain deadline reached: stopping the previous version anyway"
    fi
  fi

  # --- stop ---------------------------------------------------------------------------------
  if [[ -n "$live" && "$live" != "$new_containers_live" ]]; then
    step stop "$live"
    # SIGTERM first (the app finishes and exits cleanly); whatever came of it, the containers go.
    # shellcheck disable=SC2086 # one name per word
    docker stop --time "$STOP_TIMEOUT" $live >/dev/null || log "docker stop ${live} exited with $?: removing them anyway"
    # shellcheck disable=SC2086 # one name per word
    docker rm -f $live >/dev/null || log "WARNING: docker rm -f ${live} failed (above): the next rollout of ${SERVICE} removes them"
  else
    step stop "no previous version"
  fi
  rm -f "${record_file}.draining"

  # --- prune --------------------------------------------------------------------------------
  step prune "keeping the ${KEEP_IMAGES} most recent images of ${IMAGE%:*}"
  repository="${IMAGE%@*}"
  repository="${repository%:*}"
  docker image ls "$repository" --format '{{.ID}}' | awk '!seen[$0]++' | tail -n +"$((KEEP_IMAGES + 1))" |
    while read -r image_id; do
      if docker rmi "$image_id" >/dev/null 2>&1; then log "removed image ${image_id}"; fi
    done
  log "finished in $(since "$rollout_started")s"
) &
set +m
log "done in $(since "$rollout_started")s: ${SERVICE} is served by ${new_containers_live} (drain, stop and prune go on in the background: ~/${DEPLOYMENTS_DIR}/${SERVICE}.finish.log)"
