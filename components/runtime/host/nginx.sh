# The edge's nginx (sourced by runtime.sh's renderer): how its reloads are confirmed.

# POSIX sh, put in front of a script run inside a proxy's nginx container (docker exec).
# `reload_confirmed FILE SECONDS` signals a reload and waits until it took: new workers run, and every
# port FILE listens on is bound. nginx keeps its old configuration when it cannot apply a new one
# (a new listen port held by one of the container's own outgoing connections, in TIME_WAIT) and
# says so only in its own log: the signal is repeated every second, up to SECONDS
# (callers give NGINX_RELOAD_SECONDS: longer than TIME_WAIT's 60 s). Returns 1 if it never took.
NGINX_RELOAD_SECONDS=70
# shellcheck disable=SC2016 # expanded inside the container
nginx_reload_sh='
# nginx_workers current|all: the current workers, or all of them (those shutting down too).
nginx_workers() {
  for f in /proc/[0-9]*/cmdline; do
    if grep -q "worker process" "$f" 2>/dev/null && { [ "$1" = all ] || ! grep -q "shutting down" "$f" 2>/dev/null; }; then
      p=${f#/proc/}; echo "${p%/cmdline}"
    fi
  done
}
reload_confirmed() {
  before=" $(nginx_workers current | tr "\n" " ") "
  ports=$(sed -n "s/^ *listen \([0-9]*\)[ ;].*/\1/p" "$1")
  deadline=$(( $(date +%s) + $2 ))
  signalled=$(date +%s)
  nginx -s reload 2>/dev/null || return 1
  while :; do
    took=0
    for pid in $(nginx_workers current); do case "$before" in *" $pid "*) ;; *) took=1 ;; esac; done
    for port in $ports; do
      grep -q "^ *[0-9]*: 00000000:$(printf %04X "$port") 00000000:0000 0A" /proc/net/tcp || took=0
    done
    [ "$took" = 1 ] && return 0
    now=$(date +%s)
    [ "$now" -lt "$deadline" ] || return 1
    if [ "$now" -gt "$signalled" ]; then nginx -s reload 2>/dev/null || true; signalled=$now; fi
    sleep 0.02 # a reload takes a few milliseconds: the rollout waits for it
  done
}
# install_confirmed FILE SECONDS: FILE.next (written by the caller) becomes FILE, checked by
# nginx -t, then reloaded until it took. Returns 1 when nginx -t refuses it, 2 when the reload
# never took; either way the previous FILE is back (its own reload confirmed too) and serving.
install_confirmed() {
  if [ -f "$1" ]; then cp "$1" "$1.prev"; fi
  mv "$1.next" "$1"
  if ! nginx -t -q; then put_back "$1"; return 1; fi
  if ! reload_confirmed "$1" "$2"; then put_back "$1"; reload_confirmed "$1" 10 || true; return 2; fi
}
put_back() {
  if [ -f "$1.prev" ]; then mv "$1.prev" "$1"; else rm -f "$1"; fi
}
'
