# Maintenance mode (components/proxy/maintenance.ts; npm run maintenance): a flag file and a page in
# the edge's configuration volume, apart from the configuration `up` renders. Each change is
# checked by nginx -t and confirmed by a graceful reload; one that fails puts the previous state
# back, serving.

# `maintenance on`: reads the flag file, a line "---", then the page, on stdin.
maintenance_on() {
  local flag page
  flag="$(mktemp)"
  page="$(mktemp)"
  split_stdin "$flag" "$page"
  if ! grep -q "^set " "$flag" || [[ ! -s "$page" ]]; then
    rm -f "$flag" "$page"
    fail "maintenance on: expected the flag file, a line ---, then the page on stdin"
  fi
  docker exec "$EDGE" mkdir -p "$MAINTENANCE_DIR"
  # The page first: nginx reads it at each answer, so a new message shows without a reload.
  docker exec -i "$EDGE" sh -c "cat > ${MAINTENANCE_PAGE_FILE}.next && mv ${MAINTENANCE_PAGE_FILE}.next ${MAINTENANCE_PAGE_FILE}" <"$page"
  docker exec -i "$EDGE" sh -c "cat > ${MAINTENANCE_FLAG_FILE}.next" <"$flag"
  rm -f "$flag" "$page"
  docker exec "$EDGE" sh -c "${nginx_reload_sh}
    install_confirmed ${MAINTENANCE_FLAG_FILE} ${NGINX_RELOAD_SECONDS}
  " || fail "the edge did not take maintenance mode (nginx -t, or no reload: see docker logs ${EDGE}); it serves as before"
  maintenance_audit on
  log "maintenance on: the edge answers 503 but for the health paths and ACME"
}

# `maintenance off`: the flag file goes; the page stays for the next time.
maintenance_off() {
  local status=0
  docker exec "$EDGE" sh -c "${nginx_reload_sh}
    [ -f ${MAINTENANCE_FLAG_FILE} ] || exit 3
    mv ${MAINTENANCE_FLAG_FILE} ${MAINTENANCE_FLAG_FILE}.off
    if reload_confirmed ${edge_dir}/permacoop.conf ${NGINX_RELOAD_SECONDS}; then rm -f ${MAINTENANCE_FLAG_FILE}.off; exit 0; fi
    mv ${MAINTENANCE_FLAG_FILE}.off ${MAINTENANCE_FLAG_FILE}
    reload_confirmed ${edge_dir}/permacoop.conf 10 || true
    exit 2
  " || status=$?
  case $status in
    0) maintenance_audit off && log "maintenance off: the edge serves every route" ;;
    3) log "maintenance was off: nothing to do" ;;
    *) fail "the edge did not leave maintenance mode (no reload: see docker logs ${EDGE}); it still answers 503" ;;
  esac
}

# `maintenance status`: the flag file (empty when off).
maintenance_status() {
  docker exec "$EDGE" sh -c "cat ${MAINTENANCE_FLAG_FILE} 2>/dev/null || true"
}

# A line in the host's audit log, beside the rollouts' (no service: rollbacks skip it).
maintenance_audit() {
  mkdir -p "$(dirname "${HOME}/${AUDIT_LOG}")"
  printf '%s\tmaintenance=%s\tactor=%s\towner=%s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$1" "$(audit_actor)" "${PERMACOOP_OWNER:-}" >>"${HOME}/${AUDIT_LOG}"
}

maintenance() {
  require_docker
  docker inspect "$EDGE" >/dev/null 2>&1 || fail "${EDGE} does not exist: deploy first (pulumi up -s ${ENV_NAME})"
  case "${1:-}" in
    on) maintenance_on ;;
    off) maintenance_off ;;
    status) maintenance_status ;;
    *) fail "usage: runtime.sh maintenance on|off|status" ;;
  esac
}
