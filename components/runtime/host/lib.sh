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

# Address of container $1 on the environment's network.
network_address() { docker inspect -f "{{(index .NetworkSettings.Networks \"${NETWORK}\").IPAddress}}" "$1"; }

# A hash of container $1's environment (its NAME=value lines, sorted): a change by hand shows.
env_hash() { docker inspect -f '{{range .Config.Env}}{{println .}}{{end}}' "$1" | sort | sha256sum | cut -c1-16; }

# The container the switch sends service $1's traffic to (empty before its first rollout).
switch_live() {
  docker exec "$SWITCH" sh -c "if [ -f /etc/nginx/conf.d/$1.conf ]; then sed -n 's/^# live: //p' /etc/nginx/conf.d/$1.conf; fi"
}
