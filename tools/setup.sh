#!/usr/bin/env bash
# What a fresh clone needs before a command runs, done by the command itself (npm test, npm run local):
#   npm         the npm dependencies (and the policy pack's), when missing or older than the lock file
#   app         the reference app's npm dependencies, likewise
#   validators  the programs the unit tests run: nginx -t, shellcheck, cloud-init schema, ssh-keygen,
#               git, go (actionlint is built from the Go module proxy)
# Usage: tools/setup.sh STEP...
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '[setup] %s\n' "$*" >&2; }
die() {
  log "error: $*"
  exit 1
}

# npm_deps DIR: npm ci in DIR when node_modules is missing or older than package-lock.json.
npm_deps() {
  local dir="$1"
  if [[ ! -d "$dir/node_modules" || "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]]; then
    log "installing npm dependencies${dir:+ in $dir}"
    (cd "$dir" && npm ci --no-audit --no-fund >/dev/null) || die "npm ci failed in ${dir} (see above)"
  fi
}

validators() {
  bash tools/apt-install.sh nginx haproxy shellcheck cloud-init openssh-client git ||
    die "the unit tests run these validators: install them (command above), then re-run"
  command -v go >/dev/null || die "the unit tests build actionlint from the Go module proxy: install Go 1.22 or later (Debian: sudo apt-get install golang-go)"
}

command -v node >/dev/null || die "Node.js is not installed: install Node.js 20 (https://nodejs.org or your package manager)."
for step in "$@"; do
  case "$step" in
    npm) npm_deps . ;;
    app) npm_deps app ;;
    validators) validators ;;
    *) die "unknown step ${step} (npm, app, validators)" ;;
  esac
done
