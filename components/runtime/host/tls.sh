# TLS: the certificate (certbot, HTTP-01 through the edge's ACME volume) and its renewal.
certbot_run() {
  local ca=() deadline=()
  if [[ -n "${CERTBOT_TIMEOUT:-}" ]]; then deadline=(timeout "$CERTBOT_TIMEOUT"); fi
  if docker run --rm -v "${CERTS_VOLUME}:/etc/letsencrypt" --entrypoint test "$CERTBOT_IMAGE" -s /etc/letsencrypt/permacoop-ca.pem; then
    ca=(-e REQUESTS_CA_BUNDLE=/etc/letsencrypt/permacoop-ca.pem)
  fi
  # Host network: the ACME server may be on this host's loopback (a test CA).
  "${deadline[@]}" docker run --rm --network host "${ca[@]}" \
    -v "${CERTS_VOLUME}:/etc/letsencrypt" -v "${ACME_VOLUME}:/var/www/acme" \
    "$CERTBOT_IMAGE" "$@"
}

# Issues (or expands) the certificate for every hostname; on success the edge switches to
# HTTPS. Reads the ACME CA bundle (PEM, may be empty) on stdin.
certificate() {
  [[ -n "$CERT_DOMAINS" ]] || fail "TLS is off: no certificate to issue"
  docker run --rm -i -v "${CERTS_VOLUME}:/etc/letsencrypt" --entrypoint sh "$CERTBOT_IMAGE" \
    -c 'cat > /etc/letsencrypt/permacoop-ca.pem.next && mv /etc/letsencrypt/permacoop-ca.pem.next /etc/letsencrypt/permacoop-ca.pem'
  local domains=() output
  for domain in $CERT_DOMAINS; do domains+=(-d "$domain"); done
  log "requesting a certificate for ${CERT_DOMAINS} from ${ACME_DIRECTORY} (deadline ${CERT_DEADLINE}s)"
  if ! output="$(CERTBOT_TIMEOUT="$CERT_DEADLINE" certbot_run certonly --webroot --webroot-path /var/www/acme --cert-name "$CERT_NAME" "${domains[@]}" \
    --server "$ACME_DIRECTORY" --email "$ACME_EMAIL" --agree-tos --non-interactive --no-eff-email \
    --keep-until-expiring --expand 2>&1)"; then
    printf '%s\n' "$output" | tail -n 15 | sed 's/^/    /'
    fail "no certificate for ${CERT_DOMAINS}: check that each name resolves to this host and that port 80 reaches it (HTTP keeps serving)"
  fi
  activate_edge
  schedule_renewal
  log "certificate in place for ${CERT_DOMAINS}"
}

# Twice a day, as certbot recommends; nginx reloads only when a certificate changed.
renew() {
  local before after
  before="$(docker exec "$EDGE" sh -c "cat ${cert_live}/fullchain.pem 2>/dev/null" | sha256sum)"
  certbot_run renew --quiet --webroot --webroot-path /var/www/acme
  after="$(docker exec "$EDGE" sh -c "cat ${cert_live}/fullchain.pem 2>/dev/null" | sha256sum)"
  if [[ "$before" != "$after" ]]; then
    docker exec "$EDGE" nginx -s reload
    log "certificate renewed, edge reloaded"
  fi
}

# Twice a day, as certbot recommends.
schedule_renewal() { schedule renew "$((RANDOM % 60)) $((RANDOM % 12)),$((RANDOM % 12 + 12)) * * *" renew; }
