# Proxies: the switch (one server per service, traffic moves between versions there) and the edge
# (hostnames, routes, TLS). The edge keeps its HTTP and HTTPS variants side by side.
nginx_command=(sh -c 'rm -f /etc/nginx/conf.d/default.conf; exec nginx -g "daemon off;"')
# The proxies open a connection per request to one address (the switch, the live app): let
# them reuse TIME_WAIT ports, or a few hundred requests a second exhaust them within a minute.
proxy_sysctls=(--sysctl net.ipv4.tcp_tw_reuse=1 --sysctl "net.ipv4.ip_local_port_range=1024 65000")

up_proxy() {
  ensure_volume "${SWITCH_CONF_VOLUME}"
  ensure_volume "${EDGE_CONF_VOLUME}"
  ensure_volume "${ACME_VOLUME}"
  ensure_volume "${CERTS_VOLUME}"
  # The switch's ports are never its outgoing connections' ports, or a service added later could
  # not be listened on while they hold its port.
  start_container "$SWITCH" "$NGINX_IMAGE" "$SWITCH_SPEC" "${proxy_sysctls[@]}" --sysctl "net.ipv4.ip_local_reserved_ports=${SWITCH_PORTS}" \
    -v "${SWITCH_CONF_VOLUME}:/etc/nginx/conf.d" \
    --entrypoint "" "$NGINX_IMAGE" "${nginx_command[@]}"
  reserve_switch_ports
  local ports=(-p "${BIND_ADDRESS}:${HTTP_PORT}:80")
  if [[ "$HTTPS_PORT" != "0" ]]; then ports+=(-p "${BIND_ADDRESS}:${HTTPS_PORT}:443"); fi
  start_container "$EDGE" "$NGINX_IMAGE" "$EDGE_SPEC" "${proxy_sysctls[@]}" \
    "${ports[@]}" \
    -v "${EDGE_CONF_VOLUME}:/etc/nginx/conf.d" -v "${ACME_VOLUME}:/var/www/acme" -v "${CERTS_VOLUME}:/etc/letsencrypt" \
    --entrypoint "" "$NGINX_IMAGE" "${nginx_command[@]}"
  wait_until "switch nginx" 30 docker exec "$SWITCH" nginx -t -q
  wait_until "edge nginx" 30 docker exec "$EDGE" nginx -t -q
}

# A switch created before its ports were reserved keeps running (recreating it would cut traffic):
# the reservation is written into its network namespace by a one-off container joining it. From
# then on no new outgoing connection takes a switch port, and one held in TIME_WAIT frees within
# 60 s, which a confirmed reload waits out (lib.sh). Without it, a port the switch must add
# (a new service, an upgrade that moves ports) may stay busy under fresh-connection load.
reserve_switch_ports() {
  local reserved
  reserved="$(docker exec "$SWITCH" cat /proc/sys/net/ipv4/ip_local_reserved_ports 2>/dev/null || true)"
  [[ "$reserved" == "$SWITCH_PORTS" ]] && return
  log "reserving ports ${SWITCH_PORTS} in ${SWITCH} (created before they were reserved)"
  docker run --rm --network "container:${SWITCH}" --sysctl "net.ipv4.ip_local_reserved_ports=${SWITCH_PORTS}" \
    --entrypoint "" "$NGINX_IMAGE" true >/dev/null ||
    log "WARNING: could not reserve them: a port added later may wait for the switch's connections to free it"
}

# The edge keeps both variants of its configuration next to the active one; the HTTPS one is
# active only once a certificate exists, so a failed issuance leaves HTTP serving.
edge_dir=/etc/nginx/conf.d
cert_live="/etc/letsencrypt/live/${CERT_NAME}"

# Makes the right variant active: nginx -t inside the edge, then reload until it took. A
# configuration nginx refuses is put back and fails the command; the running one stays.
activate_edge() {
  docker exec "$EDGE" sh -c "${nginx_reload_sh}
    set -e
    variant=${edge_dir}/permacoop.http
    if [ -f ${edge_dir}/permacoop.https ] && [ -f ${cert_live}/fullchain.pem ]; then variant=${edge_dir}/permacoop.https; fi
    if [ -f ${edge_dir}/permacoop.conf ] && cmp -s \"\$variant\" ${edge_dir}/permacoop.conf; then exit 0; fi
    cp \"\$variant\" ${edge_dir}/permacoop.conf.next
    install_confirmed ${edge_dir}/permacoop.conf ${NGINX_RELOAD_SECONDS} || exit \$?
    echo \"edge serves \${variant##*.}\"
  " || fail "the edge did not take the new configuration (nginx -t, or no reload within ${NGINX_RELOAD_SECONDS}s: see docker logs ${EDGE}); the running one is unchanged"
}

# Reads the HTTP variant, a line "---", then the HTTPS variant (empty when TLS is off).
proxy() {
  local http https
  http="$(mktemp)"
  https="$(mktemp)"
  awk -v http="$http" -v https="$https" '$0 == "---" { part = 1; next } { print > (part ? https : http) }' && touch "$https"
  docker exec -i "$EDGE" sh -c "cat > ${edge_dir}/permacoop.http" <"$http"
  if [[ -s "$https" ]]; then
    docker exec -i "$EDGE" sh -c "cat > ${edge_dir}/permacoop.https" <"$https"
  else
    docker exec "$EDGE" rm -f "${edge_dir}/permacoop.https"
  fi
  rm -f "$http" "$https"
  activate_edge
  log "edge configuration applied"
}
