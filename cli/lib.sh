# shellcheck shell=bash
# What the stacks run on this machine share (cli/local.sh, cli/vm.sh): their state in .pulumi-local/
# (git-ignored) with the dev passphrase "permacoop-local" (override with PULUMI_CONFIG_PASSPHRASE),
# the Docker engine, and which pulumi runs. Source it with `tag` and `stack` set.

log() { printf '[%s] %s\n' "${tag:?}" "$*" >&2; }
die() {
  log "error: $*"
  exit 1
}

export PULUMI_BACKEND_URL="file://${PWD}/.pulumi-local"
export PULUMI_CONFIG_PASSPHRASE="${PULUMI_CONFIG_PASSPHRASE:-permacoop-local}"

ensure_docker() {
  if ! command -v docker >/dev/null 2>&1 && [[ "$(id -u)" != "0" ]]; then
    die "Docker is not installed. Install Docker Engine (Debian/Ubuntu: sudo apt-get install docker.io), then re-run."
  fi
  bash tools/docker-engine.sh || die "Docker is not running. Start it (sudo systemctl start docker), then re-run."
}

# The pulumi the user installed when there is one; the offline toolchain otherwise (or when
# PERMACOOP_TOOLCHAIN=offline), as the other commands do (cli/pulumi.ts).
use_pulumi() {
  if [[ "${PERMACOOP_TOOLCHAIN:-}" != "offline" ]] && command -v pulumi >/dev/null 2>&1; then return; fi
  # shellcheck source=/dev/null
  source <(bash tools/toolchain.sh --print-env)
}

select_stack() {
  mkdir -p .pulumi-local
  pulumi stack select "${stack:?}" >/dev/null 2>&1 || pulumi stack init "$stack" >/dev/null
}
