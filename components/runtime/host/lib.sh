# Shared by the runtime and rollout scripts (their renderers prepend it to the body): how the
# host's containers are read. One definition, so that what a rollout records is what verify checks.

# Whether another stack of this name deployed the environment here: the id the install step
# recorded differs from the one this step carries ($PERMACOOP_OWNER, kept in the stack's state).
# Day-2 commands (npm run ops, backup) carry none, and are not checked.
other_owner() {
  local file="${HOME}/${OWNER_FILE}"
  [[ -n "${PERMACOOP_OWNER:-}" && -f "$file" && "$(cat "$file")" != "$PERMACOOP_OWNER" ]]
}
owner_refusal="${ENV_NAME} here belongs to another stack of that name: nothing changed (use another stack name, or destroy that one first; its id is in ~/${OWNER_FILE})"

# Docker templates of a container's facts, each spelled once: its address on the environment's
# network, and its environment (one NAME=value line per variable, then docker's empty line).
address_template="{{(index .NetworkSettings.Networks \"${NETWORK}\").IPAddress}}"
env_template='{{range .Config.Env}}{{println .}}{{end}}'

# Address of container $1 on the environment's network.
network_address() { docker inspect -f "$address_template" "$1"; }

# A hash of container $1's environment (its NAME=value lines, sorted): a change by hand shows.
env_hash() { docker inspect -f "$env_template" "$1" | hash_env_lines; }
hash_env_lines() { sort | sha256sum | cut -c1-16; }

# What a rollout needs of the container $1 it started, in one inspect (each docker call costs
# 50-100 ms): "ADDRESS IMAGE_ID ENV_HASH" (its address on the environment's network, or "-" when it
# has none; env_hash's hash).
container_facts() {
  local facts
  facts="$(docker inspect -f "${address_template} {{.Image}}{{println}}${env_template}" "$1")" || return 1
  # env_hash hashes the lines as docker prints them: each variable's, then an empty one (the
  # command substitution above dropped it).
  local first
  first="$(head -n 1 <<<"$facts")"
  # No address (the container is not running): "-", so that the words keep their places.
  [[ "$first" != " "* ]] || first="-${first}"
  printf '%s %s\n' "$first" "$( (tail -n +2 <<<"$facts" && echo) | hash_env_lines)"
}

# The container the switch sends service $1's traffic to (empty before its first rollout).
switch_live() {
  docker exec "$SWITCH" sh -c "if [ -f ${SWITCH_CONF_DIR}/$1.cfg ]; then sed -n 's/^# live: //p' ${SWITCH_CONF_DIR}/$1.cfg; fi"
}

# The lock every change of the switch takes (a rollout's, the runtime's reloads), in the deploy
# user's own directory; prints its path.
switch_lock_file() {
  local dir="${PERMACOOP_LOCK_DIR:-${HOME}/${LOCKS_DIR}}"
  mkdir -p "$dir"
  printf '%s' "${dir}/switch.lock"
}

# in_switch [-i] SCRIPT: bash SCRIPT in the switch's container (as root: it writes the files),
# after the helpers below.
in_switch() {
  local opts=(-u 0)
  if [[ "$1" == -i ]]; then
    opts+=(-i)
    shift
  fi
  docker exec "${opts[@]}" "$SWITCH" bash -c "admin_port=${SWITCH_ADMIN_PORT}; conf_dir=${SWITCH_CONF_DIR}; global=${SWITCH_GLOBAL_FILE}
${switch_sh}
$1"
}

# reload_switch_locked: a reload of the switch as the runtime does it (a service removed, services
# restarted), under the lock the rollouts take to change the switch: a reload never lands between
# a rollout's change through the admin socket and the file that records it.
reload_switch_locked() {
  local status=0
  exec 7>"$(switch_lock_file)"
  flock -w 600 7 || return 1
  in_switch "$1" || status=$?
  exec 7>&-
  return "$status"
}

# Seconds a reload of the switch has to take (its ports are reserved: nothing of its own holds them).
SWITCH_RELOAD_SECONDS=30
# Bash, inside the switch's HAProxy container (in_switch): its admin socket, its reloads.
# shellcheck disable=SC2016 # expanded inside the container
switch_sh='
# cli COMMANDS: one line of commands (separated by ;) to the admin socket; prints the answers.
cli() {
  exec 3<>"/dev/tcp/127.0.0.1/${admin_port}" || return 1
  printf "%s\n" "$1" >&3
  cat <&3
  exec 3>&-
}
# The process that serves now (the admin socket is its own).
serving_pid() { cli "show info" 2>/dev/null | sed -n "s/^Pid: //p"; }
# Every HAProxy worker: the serving one, and those a reload left carrying connections.
haproxy_workers() {
  local stat pid comm ppid
  for stat in /proc/[0-9]*/stat; do
    read -r pid comm _ ppid _ <"$stat" 2>/dev/null || continue
    if [[ "$ppid" == 1 && "$comm" == "(haproxy)" ]]; then echo "$pid"; fi
  done
}
# reload_switch SECONDS: checks the files, signals a reload and waits until it took (a new process
# serves, every port of the files is bound), signalled again each second. 1: refused by haproxy -c;
# 2: never took.
reload_switch() {
  haproxy -c -q -f "$global" -f "$conf_dir" >&2 || return 1
  local before deadline signalled now took port
  before="$(serving_pid)"
  deadline=$(($(date +%s) + $1))
  signalled=$(date +%s)
  kill -USR2 1
  while :; do
    now="$(serving_pid)"
    took=0
    if [[ -n "$now" && "$now" != "$before" ]]; then took=1; fi
    for port in $(sed -n "s/^ *bind :\([0-9]*\)$/\1/p" "$conf_dir"/*.cfg); do
      grep -q "^ *[0-9]*: 00000000:$(printf %04X "$port") 00000000:0000 0A" /proc/net/tcp || took=0
    done
    if ((took)); then return 0; fi
    if (($(date +%s) >= deadline)); then return 2; fi
    if (($(date +%s) > signalled)); then
      kill -USR2 1
      signalled=$(date +%s)
    fi
    sleep 0.02
  done
}
# install_switch_file FILE SECONDS: FILE.next (written by the caller) becomes FILE, reloaded until
# it took. 1: refused by haproxy -c; 2: the reload never took. Either way the previous FILE is
# back and serving.
install_switch_file() {
  local status=0
  if [[ -f "$1" ]]; then cp "$1" "$1.prev"; fi
  mv "$1.next" "$1"
  reload_switch "$2" || status=$?
  if ((status)); then
    if [[ -f "$1.prev" ]]; then mv "$1.prev" "$1"; else rm -f "$1"; fi
    if ((status == 2)); then reload_switch 10 || true; fi
    return "$status"
  fi
  rm -f "$1.prev"
}
# slot_servers SLOT COUNT: the servers of replicas 1..COUNT in SLOT (haproxy.ts, slotServer).
slot_servers() {
  local i
  for ((i = 1; i <= $2; i++)); do if ((i == 1)); then echo "$1"; else echo "$1-$i"; fi; done
}
# switch_to SERVICE SLOT "CONTAINER..." "ADDRESS..." PORT [LIVE_SLOT LIVE_COUNT]: points the servers of
# SLOT at the containers (one per replica) and makes them ready; once they all serve (their names
# resolved: up to 5 s), the LIVE_COUNT servers of LIVE_SLOT drain. Until then both serve, never
# neither. Fails, LIVE_SLOT untouched, if SLOT never serves.
switch_to() {
  local deadline=$(($(date +%s) + 5)) containers addresses servers commands="" i
  read -ra containers <<<"$3"
  read -ra addresses <<<"$4"
  mapfile -t servers < <(slot_servers "$2" "${#containers[@]}")
  for i in "${!containers[@]}"; do
    commands+="set server $1/${servers[i]} addr ${addresses[i]} port $5; set server $1/${servers[i]} fqdn ${containers[i]}; set server $1/${servers[i]} state ready; "
  done
  cli "${commands%; }" >/dev/null
  # Fields: be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state ... srv_port (19).
  # A maintenance flag (forced 0x01, inherited 0x02, resolution 0x20) means it does not serve.
  until cli "show servers state $1" | awk -v servers="${servers[*]}" -v addrs="${addresses[*]}" -v port="$5" '"'"'
    BEGIN { n = split(servers, s, " "); split(addrs, a, " "); for (i = 1; i <= n; i++) want[s[i]] = a[i] }
    ($4 in want) && $5 == want[$4] && $19 == port && $6 == 2 && int($7) % 4 == 0 && int($7 / 32) % 2 == 0 { ok++ }
    END { exit ok != n }'"'"'; do
    if (($(date +%s) >= deadline)); then return 1; fi
    sleep 0.02
  done
  if [[ -n "${6:-}" ]]; then
    commands=""
    for i in $(slot_servers "$6" "${7:-1}"); do commands+="set server $1/$i state drain; "; done
    cli "${commands%; }" >/dev/null
  fi
}
# switch_back SERVICE SLOT COUNT LIVE_SLOT LIVE_COUNT: undoes a switch_to that failed: the servers
# of SLOT back in maintenance, those of LIVE_SLOT ready.
switch_back() {
  local commands="" i
  for i in $(slot_servers "$2" "$3"); do commands+="set server $1/$i state maint; "; done
  for i in $(slot_servers "$4" "$5"); do commands+="set server $1/$i state ready; "; done
  cli "${commands%; }" >/dev/null
}
# drain_slot SERVICE SLOT SECONDS [PID...]: waits until the servers of SLOT (every replica) carry no
# request and the PIDs (old processes of a reload) are gone, up to SECONDS; then puts them in
# maintenance and shuts what they still carry. 1 when the deadline came first.
drain_slot() {
  local service="$1" slot="$2" deadline=$(($(date +%s) + $3)) pid busy current status=0 servers commands="" server
  shift 3
  slot_of() { awk -F, -v slot="$slot" '"'"'$2 == slot || $2 ~ ("^" slot "-[0-9]+$") { print $2, $5 }'"'"'; }
  while :; do
    busy=0
    current="$(cli "show stat $service 4 -1" | slot_of | awk '"'"'{ sum += $2 } END { print sum + 0 }'"'"')"
    if [[ "$current" != 0 ]]; then busy=1; fi
    for pid in "$@"; do if [[ -d "/proc/$pid" ]]; then busy=1; fi; done
    if ((!busy)); then break; fi
    if (($(date +%s) >= deadline)); then
      status=1
      break
    fi
    sleep 0.05
  done
  servers="$(cli "show stat $service 4 -1" | slot_of | awk '"'"'{ print $1 }'"'"')"
  for server in $servers; do commands+="set server $service/$server state maint; shutdown sessions server $service/$server; "; done
  [[ -z "$commands" ]] || cli "${commands%; }" >/dev/null
  return "$status"
}
'


# Who acts, for the audit log: the named actor, the sudoing user or this one, and from where over SSH.
audit_actor() {
  printf '%s' "${PERMACOOP_ACTOR:-${SUDO_USER:-$(id -un)}}${SSH_CLIENT:+ from ${SSH_CLIENT%% *}}"
}

# Splits stdin at its first line "---": what comes before into file $1, after into file $2.
split_stdin() {
  awk -v first="$1" -v second="$2" '$0 == "---" && !part { part = 1; next } { print > (part ? second : first) }' && touch "$1" "$2"
}

# run_one_off CONTAINER IMAGE ENV_FILE DEADLINE COMMAND [LABEL...]: COMMAND (sh -c) in a one-off
# container of IMAGE with ENV_FILE's environment on the environment's network, its output as it
# comes (indented); the container goes after. Sets one_off_status: the command's exit code,
# "timeout" past DEADLINE seconds (the container is removed), or why it did not run.
run_one_off() {
  local container="$1" image="$2" env_file="$3" deadline="$4" command="$5" logs_pid wait_rc=0 labels=() label
  shift 5
  for label in "$@"; do labels+=(--label "$label"); done
  one_off_status="not started (docker run failed, above)"
  docker run --detach --name "$container" --network "$NETWORK" --env-file "$env_file" "${labels[@]}" \
    --log-opt max-size=10m --entrypoint sh "$image" -c "$command" >/dev/null || return 0
  docker logs --follow "$container" 2>&1 | sed -u 's/^/    /' &
  logs_pid=$!
  one_off_status="$(timeout "$deadline" docker wait "$container" 2>/dev/null)" || wait_rc=$?
  if ((wait_rc == 124)); then one_off_status=timeout; elif ((wait_rc != 0)); then one_off_status="unknown (docker wait failed with ${wait_rc})"; fi
  if [[ "$one_off_status" == timeout ]]; then docker rm -f "$container" >/dev/null 2>&1 || true; fi
  wait "$logs_pid" 2>/dev/null || true
  docker rm -f "$container" >/dev/null 2>&1 || true
}
