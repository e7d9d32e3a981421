#!/usr/bin/env bash
# The front-door designs of docs/front-door.md, measured in their steady state on this machine:
# wrk (2 threads, 20 keep-alive connections, 5 s) against each, in turns, twice, on the reference
# app's trivial path. Each proxy container gets the runtime's sysctls (proxy.sh). Needs Docker and
# the test images (tools/local-images.sh); builds a HAProxy image from Debian (tools/images/haproxy).
# Usage: bash tools/bench/front-door-designs.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
conf="$(mktemp -d)"
net=pc-frontdoor-designs
containers=(fd-app fd-floor fd-edge-a fd-switch-a fd-edge-b fd-switch-b fd-edge-c fd-switch-c)
cleanup() {
  docker rm -f "${containers[@]}" >/dev/null 2>&1 || true
  docker network rm "$net" >/dev/null 2>&1 || true
  rm -rf "$conf"
}
trap cleanup EXIT
bash tools/local-images.sh >/dev/null
docker build --quiet --tag permacoop/reference-app-bench:1 app >/dev/null
docker build --quiet --tag permacoop/haproxy-designs --build-arg "BASE_IMAGE=${PERMACOOP_BASE_IMAGE:-permacoop/debian-base:bookworm}" tools/images/haproxy >/dev/null

# shellcheck disable=SC2016 # nginx's variable, not the shell's
headers='proxy_http_version 1.1; proxy_set_header Connection ""; proxy_set_header Host $host;'
# An nginx server on port $2 with a keep-alive pool to $3 (host:port), into $conf/$1.
keepalive_conf() {
  printf 'upstream pool { server %s; keepalive 32; }\nserver { listen %s; location / { proxy_pass http://pool; %s } }\n' "$3" "$2" "$headers" >"$conf/$1"
}
keepalive_conf floor.conf 80 fd-app:3000
# A: today's edge and switch: a variable proxy_pass per hop (DNS per request, a fresh connection per request).
cat >"$conf/edge-a.conf" <<CONF
server { listen 80; resolver 127.0.0.11 valid=10s ipv6=off; set \$switch http://fd-switch-a:8001; location / { proxy_pass \$switch; ${headers} } }
CONF
cat >"$conf/switch-a.conf" <<CONF
server { listen 8001; resolver 127.0.0.11 valid=10s ipv6=off; set \$live http://fd-app:3000; location / { proxy_pass \$live; ${headers} } }
CONF
# B: the same two nginx, keep-alive pools on both hops.
keepalive_conf edge-b.conf 80 fd-switch-b:8001
keepalive_conf switch-b.conf 8001 fd-app:3000
# C: the nginx edge, keep-alive, to a HAProxy switch that reuses its server connections.
keepalive_conf edge-c.conf 80 fd-switch-c:8001
cat >"$conf/switch-c.cfg" <<CONF
global
  nbthread 2
defaults
  mode http
  timeout connect 5s
  timeout client 60s
  timeout server 60s
frontend switch
  bind :8001
  default_backend app
frontend alone
  bind :80
  default_backend app
backend app
  http-reuse always
  server live fd-app:3000
CONF

sysctls=(--sysctl net.ipv4.tcp_tw_reuse=1 --sysctl "net.ipv4.ip_local_port_range=1024 65000")
docker network create "$net" >/dev/null
docker run -d --name fd-app --network "$net" permacoop/reference-app-bench:1 >/dev/null
nginx_at() { # name conf [published port]
  docker run -d --name "$1" --network "$net" "${sysctls[@]}" ${3:+-p "127.0.0.1:$3:80"} -v "$conf/$2:/etc/nginx/conf.d/default.conf:ro" nginx:stable >/dev/null
}
nginx_at fd-switch-a switch-a.conf
nginx_at fd-switch-b switch-b.conf
docker run -d --name fd-switch-c --network "$net" "${sysctls[@]}" -p 127.0.0.1:18105:80 -v "$conf/switch-c.cfg:/usr/local/etc/haproxy/haproxy.cfg:ro" permacoop/haproxy-designs >/dev/null
nginx_at fd-floor floor.conf 18101
nginx_at fd-edge-a edge-a.conf 18102
nginx_at fd-edge-b edge-b.conf 18103
nginx_at fd-edge-c edge-c.conf 18104
declare -A design=(
  [18101]="floor: one nginx, keep-alive upstream to the app"
  [18102]="A (before C): nginx edge -> nginx switch, a fresh connection per request on each hop"
  [18103]="B: nginx edge -> nginx switch, keep-alive pools on both hops"
  [18104]="C: nginx edge -> HAProxy switch, keep-alive on both hops"
  [18105]="HAProxy alone, for scale"
)
for port in "${!design[@]}"; do
  for _ in $(seq 50); do curl -fs -o /dev/null "http://127.0.0.1:${port}/version" && break; sleep 0.1; done
done
for round in 1 2; do
  for port in 18101 18102 18103 18104 18105; do
    out="$(wrk -t2 -c20 -d5s --latency "http://127.0.0.1:${port}/version")"
    printf '{"round":%s,"design":"%s","requests_per_second":%s,"p50":"%s","errors":"%s"}\n' "$round" "${design[$port]}" \
      "$(sed -n 's/^Requests\/sec: *//p' <<<"$out")" "$(awk '$1 == "50%" { print $2 }' <<<"$out")" \
      "$(grep -E 'Non-2xx|Socket errors' <<<"$out" | tr '\n' ' ' | sed 's/ *$//')"
  done
done
