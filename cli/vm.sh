#!/usr/bin/env bash
# npm run vm       -> the `vm` stack: a VM on this machine booted by the same cloud-init as a Scaleway
#                     VM (host kind local-vm), reached over SSH like prod; prints its URL
#                     -- --stack-file Pulumi.<stack>.yaml: that stack file's services instead of the reference app
# npm run vm:down  -> destroy it: the VM and everything on it
# Linux and root only (network namespaces, debootstrap, chroot). State lives in .pulumi-local/ (cli/lib.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

tag=vm
stack=vm
# shellcheck source=cli/lib.sh
source cli/lib.sh

# What a VM on this machine needs, said once and clearly.
ensure_vm_capable() {
  [[ "$(uname -s)" == "Linux" ]] || die "npm run vm boots a VM with Linux network namespaces: it runs on Linux only. Elsewhere: npm run local."
  [[ "$(id -u)" == "0" ]] || die "npm run vm needs root (network namespaces, debootstrap, chroot): sudo npm run vm"
  bash tools/apt-install.sh debootstrap iproute2 openssh-client || die "install what is missing (command above), then re-run"
  ip netns list >/dev/null 2>&1 || die "this machine cannot create network namespaces (ip netns): run on a Linux host or a VM with them"
}

# --stack-file FILE: that stack file's services (and their proxy/database images) replace the reference app.
use_stack_file() {
  local file="$1" services
  [[ -f "$file" ]] || die "no stack file ${file}"
  # shellcheck disable=SC2016 # JavaScript, not shell
  services="$(node -e '
    const yaml = require("yaml"); const fs = require("fs");
    const config = yaml.parse(fs.readFileSync(process.argv[1], "utf8")).config || {};
    const services = config["permacoop:services"];
    if (!services) { console.error(process.argv[1] + " has no permacoop:services"); process.exit(1); }
    process.stdout.write(JSON.stringify(services));' "$file")" || die "cannot read the services of ${file}"
  log "services from ${file} (their secrets must be set on the vm stack: pulumi config set --secret -s vm permacoop:<name>)"
  pulumi config set --stack "$stack" permacoop:services "$services" >/dev/null
}

up() {
  local stack_file=""
  if [[ "${1:-}" == "--stack-file" ]]; then stack_file="${2:?--stack-file needs a file}"; fi
  ensure_vm_capable
  bash tools/setup.sh npm app
  ensure_docker
  use_pulumi
  bash tools/local-images.sh
  select_stack
  [[ -z "$stack_file" ]] || use_stack_file "$stack_file"
  pulumi up --yes --stack "$stack" --skip-preview --color never
  log "serving at $(pulumi stack output url --stack "$stack") (from this machine; ssh: pulumi stack output -s vm ssh)"
}

down() {
  use_pulumi
  if ! pulumi stack select "$stack" >/dev/null 2>&1; then
    log "no vm stack: nothing to destroy"
    return
  fi
  pulumi destroy --yes --stack "$stack" --skip-preview --color never
  log "vm removed"
}

case "${1:-up}" in
  up) up "${@:2}" ;;
  down) down ;;
  *) die "usage: cli/vm.sh up [--stack-file Pulumi.<stack>.yaml] | down" ;;
esac
