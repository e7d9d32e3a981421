# Maintenance mode (components/proxy/maintenance.ts; npm run maintenance): a flag file the edge
# tests at each request, its settings and its page, in the edge's configuration volume apart from
# the configuration `up` renders. On and off touch the flag only: no reload. A new Retry-After
# changes the settings, checked by nginx -t and confirmed by a graceful reload; one that fails
# puts the previous settings back, serving.

# `maintenance on`: reads the settings file, a line "---", then the page, on stdin.
maintenance_on() {
  local settings page retry_after
  settings="$(mktemp)"
  page="$(mktemp)"
  split_stdin "$settings" "$page"
  retry_after="$(sed -n 's/^set [$][a-z_]* \([0-9]*\);$/\1/p' "$settings")"
  if [[ -z "$retry_after" || ! -s "$page" ]]; then
    rm -f "$settings" "$page"
    fail "maintenance on: expected the settings, a line ---, then the page on stdin"
  fi
  docker exec "$EDGE" mkdir -p "$MAINTENANCE_DIR"
  # The page first: nginx reads it at each answer, so a new message shows without a reload.
  docker exec -i "$EDGE" sh -c "cat > ${MAINTENANCE_PAGE_FILE}.next && mv ${MAINTENANCE_PAGE_FILE}.next ${MAINTENANCE_PAGE_FILE}" <"$page"
  docker exec -i "$EDGE" sh -c "cat > ${MAINTENANCE_SETTINGS_FILE}.next" <"$settings"
  rm -f "$settings" "$page"
  # Settings that change what nginx loaded take a reload; none loaded yet means the default's.
  printf '%s' "$MAINTENANCE_DEFAULT_SETTINGS" | docker exec -i "$EDGE" sh -c "[ -f ${MAINTENANCE_SETTINGS_FILE} ] || cat > ${MAINTENANCE_SETTINGS_FILE}"
  docker exec "$EDGE" sh -c "${nginx_reload_sh}
    if [ -f ${MAINTENANCE_SETTINGS_FILE} ] && cmp -s ${MAINTENANCE_SETTINGS_FILE} ${MAINTENANCE_SETTINGS_FILE}.next; then rm -f ${MAINTENANCE_SETTINGS_FILE}.next; exit 0; fi
    install_confirmed ${MAINTENANCE_SETTINGS_FILE} ${NGINX_RELOAD_SECONDS}
  " || fail "the edge did not take the new Retry-After (nginx -t, or no reload: see docker logs ${EDGE}); it serves as before"
  printf 'since %s by %s; Retry-After %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$(audit_actor)" "$retry_after" |
    docker exec -i "$EDGE" sh -c "cat > ${MAINTENANCE_FLAG_FILE}.next && mv ${MAINTENANCE_FLAG_FILE}.next ${MAINTENANCE_FLAG_FILE}"
  maintenance_audit on
  log "maintenance on: the edge answers 503 but for the health paths and ACME (within a second)"
}

# `maintenance off`: the flag goes; the page and settings stay for the next time.
maintenance_off() {
  if ! docker exec "$EDGE" test -f "$MAINTENANCE_FLAG_FILE"; then
    log "maintenance was off: nothing to do"
    return 0
  fi
  docker exec "$EDGE" rm -f "$MAINTENANCE_FLAG_FILE"
  maintenance_audit off
  log "maintenance off: the edge serves every route (within a second)"
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
