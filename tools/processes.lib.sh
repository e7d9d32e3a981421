# shellcheck shell=bash
# Processes the test and VM hosts start (tools/test-hosts.sh, tools/vm-hosts.sh): found by pidfile,
# waited for, stopped.

# pid from a pidfile, only if that process is alive.
live_pid() {
  local file=$1 pid
  [[ -s "$file" ]] || return 1
  pid=$(<"$file")
  [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null || return 1
  printf '%s\n' "$pid"
}

# Gone once it no longer exists or is a zombie (its parent may be slow to reap it).
wait_gone() {
  local pid=$1 tries=$2 stat
  while ((tries-- > 0)); do
    stat=$(cat "/proc/$pid/stat" 2>/dev/null) || return 0
    stat=${stat##*) }
    [[ "${stat:0:1}" == Z ]] && return 0
    sleep 0.1
  done
  return 1
}
