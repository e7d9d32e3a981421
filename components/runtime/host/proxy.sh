# Proxies: the switch (HAProxy: one section per service, traffic moves between versions there,
# through its admin socket) and the edge (nginx: hostnames, routes, TLS). The edge keeps its HTTP
# and HTTPS variants side by side.
nginx_command=(sh -c 'rm -f /etc/nginx/conf.d/default.conf; exec nginx -g "daemon off;"')
# The switch writes its global section from its environment, then reads its service files.
# shellcheck disable=SC2016 # expanded by the container's sh
switch_command=(sh -c 'printf "%s\n" "$permacoop_switch_global" >"$0" && exec haproxy -W -db -f "$0" -f "$1"' "$SWITCH_GLOBAL_FILE" "$SWITCH_CONF_DIR")
# The edge opens a connection per client connection, the switch per app connection: let them
# reuse TIME_WAIT ports, or a few hundred fresh connections a second exhaust them within a minute.
proxy_sysctls=(--sysctl net.ipv4.tcp_tw_reuse=1 --sysctl "net.ipv4.ip_local_port_range=1024 65000")

up_proxy() {
  ensure_volume "${SWITCH_CONF_VOLUME}"
  ensure_volume "${EDGE_CONF_VOLUME}"
  ensure_volume "${ACME_VOLUME}"
  ensure_volume "${CERTS_VOLUME}"
  local switch_kept=1
  container_current "$SWITCH" "$SWITCH_IMAGE" "$SWITCH_SPEC" || switch_kept=0
  convert_legacy_switch_files
  # The switch's ports are never its outgoing connections' ports, or a service added later could
  # not be listened on while they hold its port.
  start_container "$SWITCH" "$SWITCH_IMAGE" "$SWITCH_SPEC" "${proxy_sysctls[@]}" --sysctl "net.ipv4.ip_local_reserved_ports=${SWITCH_PORTS}" \
    -v "${SWITCH_CONF_VOLUME}:${SWITCH_CONF_DIR}" -e "permacoop_switch_global=${SWITCH_GLOBAL}" \
    --entrypoint "" "$SWITCH_IMAGE" "${switch_command[@]}"
  local ports=(-p "${BIND_ADDRESS}:${HTTP_PORT}:80")
  if [[ "$HTTPS_PORT" != "0" ]]; then ports+=(-p "${BIND_ADDRESS}:${HTTPS_PORT}:443"); fi
  start_container "$EDGE" "$NGINX_IMAGE" "$EDGE_SPEC" "${proxy_sysctls[@]}" \
    "${ports[@]}" \
    -v "${EDGE_CONF_VOLUME}:/etc/nginx/conf.d" -v "${ACME_VOLUME}:/var/www/acme" -v "${CERTS_VOLUME}:/etc/letsencrypt" \
    --entrypoint "" "$NGINX_IMAGE" "${nginx_command[@]}"
  wait_until "switch haproxy" 30 in_switch 'serving_pid | grep -q .'
  wait_until "edge nginx" 30 docker exec "$EDGE" nginx -t -q
  retire_legacy_switch
  # A new switch container may have a new address: the edge's connections to it are resolved at
  # its (re)load.
  if ((!switch_kept)) && docker exec "$EDGE" test -f "${edge_dir}/permacoop.conf"; then
    docker exec "$EDGE" sh -c "${nginx_reload_sh}
      reload_confirmed ${edge_dir}/permacoop.conf ${NGINX_RELOAD_SECONDS}" || fail "the edge did not reload onto the new switch (see docker logs ${EDGE})"
  fi
}

# Environments deployed before the HAProxy switch run an nginx one (LEGACY_SWITCH), on the same
# volume, one .conf file per service. Before the new switch first starts, each becomes its file
# (the same live container, the same ports): it starts serving exactly what the legacy one serves.
convert_legacy_switch_files() {
  docker inspect "$LEGACY_SWITCH" >/dev/null 2>&1 || return 0
  docker inspect "$SWITCH" >/dev/null 2>&1 && return 0
  local file content service live target ports
  for file in $(docker exec "$LEGACY_SWITCH" sh -c 'ls /etc/nginx/conf.d/*.conf 2>/dev/null' || true); do
    content="$(docker exec "$LEGACY_SWITCH" cat "$file")"
    service="${file##*/}"
    service="${service%.conf}"
    live="$(sed -n 's/^# live: //p' <<<"$content")"
    # shellcheck disable=SC2016 # a literal $ in nginx's file
    target="$(sed -n 's|^ *set \$live_upstream http://\(.*\);$|\1|p' <<<"$content")"
    ports="$(sed -n 's/^ *listen \([0-9]*\);$/\1/p' <<<"$content")"
    # A file this cannot read would leave its service out of the new switch: nothing moves.
    [[ -n "$live" && -n "$target" && -n "$ports" ]] ||
      fail "cannot take over ${file} from ${LEGACY_SWITCH} (no live container, upstream or port in it): ${LEGACY_SWITCH} still serves; fix or remove that file, then pulumi up"
    log "switch file of ${service} taken over from ${LEGACY_SWITCH}: ${live} on ports ${ports//$'\n'/ }"
    # shellcheck disable=SC2086 # one port per word
    render_switch_file "$service" "$live" blue "${target##*:}" "$DEFAULT_READ_TIMEOUT" 1 $ports | docker exec -i "$LEGACY_SWITCH" sh -c "cat > /etc/nginx/conf.d/${service}.cfg"
  done
}

# The edge moves from the legacy nginx switch to the HAProxy one (its routes name the switch; the
# ports stay): a confirmed reload, then its previous workers finish what they carry through the
# legacy switch, which then goes. A failure leaves the edge on the legacy switch, serving.
retire_legacy_switch() {
  docker inspect "$LEGACY_SWITCH" >/dev/null 2>&1 || return 0
  log "moving the edge from ${LEGACY_SWITCH} (nginx) to ${SWITCH} (HAProxy)"
  docker exec "$EDGE" sh -c "${nginx_reload_sh}
    set -e
    for f in ${edge_dir}/permacoop.http ${edge_dir}/permacoop.https; do
      if [ -f \"\$f\" ]; then sed -i s/${LEGACY_SWITCH}:/${SWITCH}:/g \"\$f\"; fi
    done
    if [ -f ${edge_dir}/permacoop.conf ]; then
      workers=\"\$(nginx_workers all)\"
      sed s/${LEGACY_SWITCH}:/${SWITCH}:/g ${edge_dir}/permacoop.conf > ${edge_dir}/permacoop.conf.next
      install_confirmed ${edge_dir}/permacoop.conf ${NGINX_RELOAD_SECONDS} || exit \$?
      deadline=\$((\$(date +%s) + 30))
      for pid in \$workers; do
        while [ -d /proc/\$pid ] && [ \$(date +%s) -lt \$deadline ]; do sleep 0.05; done
      done
    fi
  " || fail "the edge did not move to ${SWITCH} (nginx -t, or no reload: see docker logs ${EDGE}); ${LEGACY_SWITCH} still serves"
  docker rm -f "$LEGACY_SWITCH" >/dev/null
  # shellcheck disable=SC2016 # expanded in the switch
  in_switch 'rm -f "$conf_dir"/*.conf "$conf_dir"/*.conf.prev "$conf_dir"/*.conf.next'
  log "${LEGACY_SWITCH} removed: ${SWITCH} serves"
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
  split_stdin "$http" "$https"
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
