#!/usr/bin/env bash
# Builds the Debian base image the test and air-gapped images derive from, when absent:
# debootstrap a minimal bookworm into a temp dir and `docker import` it.
# Real deployments pull official images; this exists for machines without a registry.
# Usage: tools/base-image.sh [image-name]   (default: permacoop/debian-base:bookworm)
set -euo pipefail

image="${1:-${PERMACOOP_BASE_IMAGE:-permacoop/debian-base:bookworm}}"
suite="bookworm"
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"

log() { printf '[base-image] %s\n' "$*" >&2; }

if docker image inspect "$image" >/dev/null 2>&1; then
  exit 0
fi
if ! command -v debootstrap >/dev/null 2>&1; then
  log "installing debootstrap"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
fi

rootfs="$(mktemp -d /tmp/permacoop-rootfs.XXXXXX)"
trap 'rm -rf "$rootfs"' EXIT
log "debootstrap $suite from $mirror (about a minute)"
debootstrap --variant=minbase --include=ca-certificates,curl "$suite" "$rootfs" "$mirror" >/tmp/permacoop-debootstrap.log 2>&1 || {
  tail -n 20 /tmp/permacoop-debootstrap.log >&2
  exit 1
}
# Keep apt usable inside derived images, and small.
printf 'deb %s %s main\n' "$mirror" "$suite" >"$rootfs/etc/apt/sources.list"
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
log "docker import -> $image"
tar -C "$rootfs" -c . | docker import --change 'CMD ["/bin/bash"]' - "$image" >/dev/null
log "built $image"
