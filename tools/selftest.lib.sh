# shellcheck shell=bash
# PASS/FAIL lines of the host selftests (tools/*-hosts.selftest.sh); FAILS counts the failures.
FAILS=0

pass() { printf 'PASS: %s\n' "$*"; }
fail() {
  printf 'FAIL: %s\n' "$*"
  FAILS=$((FAILS + 1))
}
check() { # check DESCRIPTION COMMAND...
  local what=$1
  shift
  if "$@"; then pass "$what"; else fail "$what"; fi
}
