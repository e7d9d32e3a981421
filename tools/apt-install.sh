#!/usr/bin/env bash
# Installs the Debian packages given that are missing. As root it installs them (their services
# are not started: here they provide programs, such as nginx -t); otherwise it prints the one
# command to run and exits 1.
# Usage: tools/apt-install.sh PACKAGE...
set -euo pipefail

missing=()
for pkg in "$@"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
((${#missing[@]})) || exit 0

if [[ "$(id -u)" != "0" ]]; then
  printf '[apt-install] missing Debian packages; install them with:\n  sudo apt-get install -y --no-install-recommends %s\n' "${missing[*]}" >&2
  exit 1
fi
printf '[apt-install] installing %s\n' "${missing[*]}" >&2
apt-get update -qq
policy_rc=/usr/sbin/policy-rc.d
if [[ ! -e $policy_rc ]]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy_rc" && chmod +x "$policy_rc"
  trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
