# Shared by the runtime and rollout scripts (their renderers prepend it to the body): how the
# host's containers are read. One definition, so that what a rollout records is what verify checks.

# Address of container $1 on the environment's network.
network_address() { docker inspect -f "{{(index .NetworkSettings.Networks \"${NETWORK}\").IPAddress}}" "$1"; }

# A hash of container $1's environment (its NAME=value lines, sorted): a change by hand shows.
env_hash() { docker inspect -f '{{range .Config.Env}}{{println .}}{{end}}' "$1" | sort | sha256sum | cut -c1-16; }

# The container the switch sends service $1's traffic to (empty before its first rollout).
switch_live() {
  docker exec "$SWITCH" sh -c "if [ -f /etc/nginx/conf.d/$1.conf ]; then sed -n 's/^# live: //p' /etc/nginx/conf.d/$1.conf; fi"
}
