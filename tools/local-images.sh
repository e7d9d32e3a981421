#!/usr/bin/env bash
# Makes the images a local environment runs available: the official ones are pulled; where no
# registry answers (air-gapped sites, CI here) an equivalent is built from the Debian base image
# (tools/base-image.sh) and tagged with the official name, and this says so.
# Usage: tools/local-images.sh [name=dir ...]   (default: the nginx, haproxy, postgres and node images)
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '[local-images] %s\n' "$*" >&2; }

images=("$@")
if ((${#images[@]} == 0)); then
  images=("nginx:stable=tools/images/nginx" "haproxy:lts=tools/images/haproxy" "postgres:16=tools/images/postgres" "node:20-slim=tools/images/node")
fi

for entry in "${images[@]}"; do
  name="${entry%%=*}"
  dir="${entry#*=}"
  if docker image inspect "$name" >/dev/null 2>&1; then
    continue
  fi
  if timeout 60 docker pull --quiet "$name" >/dev/null 2>&1; then
    log "pulled ${name}"
    continue
  fi
  log "no registry answered for ${name}: building an equivalent from Debian (${dir})"
  bash tools/base-image.sh
  context="$dir"
  # An image whose context needs something built first (a binary) says so in its prepare.sh.
  if [[ -f "${dir}/prepare.sh" ]]; then
    context="$(mktemp -d)"
    cp -r "${dir}/." "$context"
    bash "${dir}/prepare.sh" "$context"
  fi
  docker build --quiet --tag "$name" --build-arg "BASE_IMAGE=${PERMACOOP_BASE_IMAGE:-permacoop/debian-base:bookworm}" "$context" >/dev/null
  [[ "$context" == "$dir" ]] || rm -rf "$context"
  log "built ${name} from ${dir}"
done
