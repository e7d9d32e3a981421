#!/usr/bin/env bash
# Makes sure a Docker engine answers: installs Debian's docker.io and starts dockerd when
# none runs (CI and fresh machines have no init system starting it).
# Usage: tools/docker-engine.sh [--no-install]
set -euo pipefail

log() { printf '[docker-engine] %s\n' "$*" >&2; }

if docker info >/dev/null 2>&1; then
  exit 0
fi

if ! command -v dockerd >/dev/null 2>&1; then
  if [[ "${1:-}" == "--no-install" || "$(id -u)" != "0" ]]; then
    log "Docker is not installed. Install the Docker engine (Debian/Ubuntu: sudo apt-get install docker.io), then re-run."
    exit 1
  fi
  log "installing docker.io (Debian package)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker.io >/dev/null
fi

if [[ "$(id -u)" != "0" ]]; then
  log "Docker is installed but not running, and starting it needs root: sudo systemctl start docker (or sudo dockerd &)."
  exit 1
fi

# The e2e registries listen in plain HTTP on this machine's side of the test hosts' links
# (tools/test-hosts.sh: 10.231.<index>.1); this engine pushes built images to them.
TEST_LINKS=10.231.0.0/16
log "starting dockerd (log: /var/log/dockerd.log)"
nohup dockerd --insecure-registry "$TEST_LINKS" >/var/log/dockerd.log 2>&1 &
for _ in $(seq 1 60); do
  if docker info >/dev/null 2>&1; then
    log "dockerd is up"
    exit 0
  fi
  sleep 1
done
log "dockerd did not answer within 60 s; last lines of /var/log/dockerd.log:"
tail -n 20 /var/log/dockerd.log >&2
exit 1
