#!/usr/bin/env bash
# npm run local       -> deploy the `local` stack on this machine's Docker engine, print its URL
# npm run local:down  -> destroy it (containers, network, volumes); --keep-data keeps the database volume
# State lives in .pulumi-local/ (cli/lib.sh). No cloud account is involved.
set -euo pipefail
cd "$(dirname "$0")/.."

tag=local
stack=local
# shellcheck source=cli/lib.sh
source cli/lib.sh

# The edge publishes host.httpPort; refuse early when something else holds it.
ensure_port_free() {
  local port id
  port="$(node -e '
    const yaml = require("yaml"); const fs = require("fs");
    const host = (yaml.parse(fs.readFileSync("Pulumi.local.yaml", "utf8")).config || {})["permacoop:host"] || {};
    process.stdout.write(String(host.httpPort || 8080));')"
  if (exec 3<>"/dev/tcp/127.0.0.1/${port}") 2>/dev/null; then
    # This stack's own edge (its names carry the environment's id, exported by the last up).
    id="$(pulumi stack output envId --stack "$stack" 2>/dev/null || echo "$stack")"
    if docker port "pc-${id}-edge" 2>/dev/null | grep -q ":${port}\$"; then return; fi
    die "port ${port} is already in use by another program. Free it, or choose another: set host.httpPort in Pulumi.local.yaml."
  fi
}

up() {
  bash tools/setup.sh npm app
  ensure_docker
  use_pulumi
  select_stack
  ensure_port_free
  bash tools/local-images.sh
  pulumi up --yes --stack "$stack" --skip-preview --color never
  log "serving at $(pulumi stack output url --stack "$stack")"
}

down() {
  use_pulumi
  if [[ "${1:-}" == "--keep-data" ]]; then
    export PERMACOOP_KEEP_DATA=1
  fi
  if ! pulumi stack select "$stack" >/dev/null 2>&1; then
    log "no local stack: nothing to destroy"
    return
  fi
  pulumi destroy --yes --stack "$stack" --skip-preview --color never
  log "local environment removed${PERMACOOP_KEEP_DATA:+ (database volume kept)}"
}

case "${1:-up}" in
  up) up ;;
  down) down "${2:-}" ;;
  *) die "usage: cli/local.sh up | down [--keep-data]" ;;
esac
