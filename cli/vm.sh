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

# --stack-file FILE: that stack file's services replace the reference app, in a config file of
# the vm stack generated into .pulumi-local/ (git-ignored): Pulumi.vm.yaml as it is (its salt, the
# secrets set on the vm stack) with FILE's permacoop:services. Tracked files are never rewritten.
stack_file_config() {
  local file="$1" out=".pulumi-local/Pulumi.vm.services.yaml"
  [[ -f "$file" ]] || die "no stack file ${file}: give a Pulumi.<stack>.yaml (ls Pulumi.*.yaml)"
  mkdir -p .pulumi-local
  # shellcheck disable=SC2016 # JavaScript, not shell
  node -e '
    const yaml = require("yaml"); const fs = require("fs");
    const [file, base, out] = process.argv.slice(1);
    const services = (yaml.parse(fs.readFileSync(file, "utf8")).config || {})["permacoop:services"];
    if (!services) { console.error(file + " has no permacoop:services"); process.exit(1); }
    const vm = yaml.parse(fs.readFileSync(base, "utf8"));
    vm.config["permacoop:services"] = services;
    fs.writeFileSync(out, yaml.stringify(vm));' "$file" Pulumi.vm.yaml "$out" || die "cannot read the services of ${file}"
  log "services from ${file}; a secret they need: pulumi config set --secret --stack vm permacoop:<name> (the error names it)"
  printf '%s\n' "$out"
}

up() {
  local stack_file=""
  case "${1:-}" in
    "") ;;
    --stack-file) stack_file="${2:?--stack-file needs a file: npm run vm -- --stack-file Pulumi.<stack>.yaml}" ;;
    *) die "unknown argument '$1': npm run vm [-- --stack-file Pulumi.<stack>.yaml]" ;;
  esac
  ensure_vm_capable
  bash tools/setup.sh npm app
  ensure_docker
  use_pulumi
  bash tools/local-images.sh
  select_stack
  local config=()
  [[ -z "$stack_file" ]] || config=(--config-file "$(stack_file_config "$stack_file")")
  pulumi up --yes --stack "$stack" --skip-preview --color never "${config[@]}"
  write_ssh_files
  log "serving at $(pulumi stack output url --stack "$stack") (from this machine)"
  log "ssh into it like prod: ssh -i .pulumi-local/vm-deploy-key -o UserKnownHostsFile=.pulumi-local/vm-known-hosts $(ssh_target)"
}

# The deploy key (0600) and the pinned host key, for ssh by hand (as `vagrant ssh` would).
write_ssh_files() {
  # shellcheck disable=SC2016 # JavaScript, not shell
  pulumi stack output --stack "$stack" --json --show-secrets | (umask 077 && node -e '
    const fs = require("fs");
    const outputs = JSON.parse(fs.readFileSync(0, "utf8"));
    fs.writeFileSync(".pulumi-local/vm-deploy-key", outputs.sshPrivateKey, { mode: 0o600 });
    const key = outputs.ssh.hostKey.split(/\s+/).slice(0, 2).join(" ");
    fs.writeFileSync(".pulumi-local/vm-known-hosts", `${outputs.ssh.host} ${key}\n`);
    fs.writeFileSync(".pulumi-local/vm-ssh-target", `${outputs.ssh.user}@${outputs.ssh.host}\n`);')
}

ssh_target() { cat .pulumi-local/vm-ssh-target; }

down() {
  use_pulumi
  if ! pulumi stack select "$stack" >/dev/null 2>&1; then
    log "no vm stack: nothing to destroy"
    return
  fi
  pulumi destroy --yes --stack "$stack" --skip-preview --color never
  rm -f .pulumi-local/vm-deploy-key .pulumi-local/vm-known-hosts .pulumi-local/vm-ssh-target
  log "vm removed"
}

case "${1:-up}" in
  up) up "${@:2}" ;;
  down) down ;;
  *) die "usage: cli/vm.sh up [--stack-file Pulumi.<stack>.yaml] | down" ;;
esac
