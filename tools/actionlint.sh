#!/usr/bin/env bash
# tools/actionlint.sh: lint the GitHub Actions workflows with actionlint (pinned), built once
# from the Go module proxy into a cache outside the repository. actionlint runs shellcheck on the
# `run:` blocks when shellcheck is on PATH (.ci/run installs it).
#
#   bash tools/actionlint.sh              lint .github/workflows/*.yml
#   bash tools/actionlint.sh FILE...      lint these workflow files
#   bash tools/actionlint.sh --path       build if missing, print the binary's path
#
# Cache: ${PERMACOOP_TOOLCHAIN_CACHE:-~/.cache/permacoop-toolchain}/actionlint-<version>/actionlint.
set -euo pipefail

ACTIONLINT_VERSION=v1.7.12
ACTIONLINT_MODULE=github.com/rhysd/actionlint/cmd/actionlint

cache="${PERMACOOP_TOOLCHAIN_CACHE:-${HOME}/.cache/permacoop-toolchain}/actionlint-${ACTIONLINT_VERSION}"
bin="$cache/actionlint"

log() { printf '[actionlint] %s\n' "$*" >&2; }
die() {
  log "error: $*"
  exit 1
}

ensure_binary() {
  [[ -x "$bin" ]] && return 0
  command -v go >/dev/null 2>&1 || die "go is required to build actionlint $ACTIONLINT_VERSION (install Go ≥ 1.25 from https://go.dev/dl, or a Go toolchain on PATH)"
  mkdir -p "$cache"
  local tmp
  # Each build goes to its own directory and is renamed into place: concurrent runs never see half a binary.
  tmp="$(mktemp -d "$cache/build.XXXXXX")"
  log "building $ACTIONLINT_MODULE@$ACTIONLINT_VERSION from the Go module proxy (once; cached in $cache)"
  if ! GOBIN="$tmp" GOWORK=off GOFLAGS=-mod=mod go install "$ACTIONLINT_MODULE@$ACTIONLINT_VERSION" >&2; then
    rm -rf "$tmp"
    die "could not build $ACTIONLINT_MODULE@$ACTIONLINT_VERSION (is the Go module proxy reachable? GOPROXY=$(go env GOPROXY))"
  fi
  mv -f "$tmp/actionlint" "$bin"
  rm -rf "$tmp"
}

ensure_binary
if [[ "${1:-}" == "--path" ]]; then
  printf '%s\n' "$bin"
  exit 0
fi

command -v shellcheck >/dev/null 2>&1 || log "warning: shellcheck is not installed: run: blocks are not checked (apt-get install shellcheck)"
if (($# == 0)); then
  cd "$(dirname "$0")/.."
  shopt -s nullglob
  set -- .github/workflows/*.yml .github/workflows/*.yaml
  (($#)) || die "no workflow in .github/workflows/"
fi
exec "$bin" -no-color "$@"
