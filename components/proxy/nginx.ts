/**
 * The edge's nginx configuration, as pure functions of typed input.
 *
 * Two tiers, so that a rollout never reloads the proxy that holds the clients' connections
 * (docs/front-door.md):
 * - the **edge** (nginx) terminates HTTP(S), keeps client keep-alive connections, adds headers
 *   and routes each path prefix to the switch port of its service, over a keep-alive pool. It is
 *   reloaded only when the routes, hostnames or certificates change.
 * - the **switch** (HAProxy, haproxy.ts) has one port per service; a rollout moves the service's
 *   traffic there through its admin socket, without a reload, so the edge's pool survives it.
 */
import {
  DEFAULT_RETRY_AFTER_SECONDS,
  MAINTENANCE_DIR,
  MAINTENANCE_FLAG_FILE,
  MAINTENANCE_PAGE_FILE,
  MAINTENANCE_PAGE_URI,
  MAINTENANCE_VARIABLES as M,
  publicHealthPath,
} from "./maintenance";

/** How long the edge waits for a service's next bytes, unless its route says otherwise. */
export const DEFAULT_READ_TIMEOUT_SECONDS = 60;
/** Where ACME HTTP-01 challenges are served from, in the edge container. */
export const ACME_WEBROOT = "/var/www/acme";
/** certbot's `--cert-name`: one certificate per environment, for all its hostnames. */
export const CERT_NAME = "permacoop";
/** Where the edge finds the certificate (certbot's live directory, in the certs volume). */
export const CERT_DIR = `/etc/letsencrypt/live/${CERT_NAME}`;
export interface EdgeRoute {
  /** Service name (for comments and logs). */
  readonly service: string;
  /** Path prefix, starting and ending with `/`. */
  readonly prefix: string;
  /** Port of this service on the switch. */
  readonly switchPort: number;
  /** Remove the prefix before passing the request on. Default false: the URI passes unchanged. */
  readonly stripPrefix?: boolean;
  /** Seconds to wait for the service's next bytes. Default 60 (the server's). */
  readonly readTimeoutSeconds?: number;
  /** This route's largest request body. Default the server's (`EdgeConfigArgs.clientMaxBodySize`). */
  readonly clientMaxBodySize?: string;
  /** The service's health path, as the service sees it: it stays open in maintenance. Default none. */
  readonly healthPath?: string;
}

export interface EdgeConfigArgs {
  /** Hostnames served (all on one certificate). */
  readonly hostnames: readonly string[];
  /** Serve HTTPS (and redirect HTTP to it). */
  readonly tls: boolean;
  /** Host name of the switch container on the environment's network. */
  readonly switchHost: string;
  readonly routes: readonly EdgeRoute[];
  /** nginx `client_max_body_size`, e.g. `10m`. */
  readonly clientMaxBodySize: string;
  /** Port clients reach HTTPS on, for the redirect. Default 443. */
  readonly httpsPort?: number;
  /** Directory holding `fullchain.pem` and `privkey.pem`. Default certbot's live directory. */
  readonly certDir?: string;
  /**
   * The other hosts' edges (`address:port`, HTTP) when several hosts serve the environment behind
   * one load balancer: an ACME challenge this host does not hold is asked of them. Default none.
   */
  readonly acmePeers?: readonly string[];
  /** The scheme clients use when a load balancer in front ends TLS (`https`): what `X-Forwarded-Proto` says. Default the edge's own. */
  readonly clientScheme?: "http" | "https";
}

/** The request header marking a challenge one host asks another: the peer answers from its own files only (no loop). */
export const ACME_PEER_HEADER = "X-Permacoop-Acme-Peer";

// Mozilla SSL configuration generator, "intermediate" profile (nginx 1.22, OpenSSL 3).
const MOZILLA_INTERMEDIATE_CIPHERS = [
  "ECDHE-ECDSA-AES128-GCM-SHA256",
  "ECDHE-RSA-AES128-GCM-SHA256",
  "ECDHE-ECDSA-AES256-GCM-SHA384",
  "ECDHE-RSA-AES256-GCM-SHA384",
  "ECDHE-ECDSA-CHACHA20-POLY1305",
  "ECDHE-RSA-CHACHA20-POLY1305",
  "DHE-RSA-AES128-GCM-SHA256",
  "DHE-RSA-AES256-GCM-SHA384",
  "DHE-RSA-CHACHA20-POLY1305",
].join(":");

function indent(lines: readonly string[], depth: number): string[] {
  return lines.map((line) => (line ? `${"    ".repeat(depth)}${line}` : line));
}

function securityHeaders(hsts: boolean): string[] {
  return [
    'add_header X-Frame-Options "DENY" always;',
    'add_header X-Content-Type-Options "nosniff" always;',
    'add_header Referrer-Policy "strict-origin-when-cross-origin" always;',
    ...(hsts ? ['add_header Strict-Transport-Security "max-age=63072000; includeSubDomains" always;'] : []),
  ];
}

/** The upstream (keep-alive pool to the switch) of a service. */
function upstreamName(service: string): string {
  return `switch_${service.replace(/-/g, "_")}`;
}

/**
 * One keep-alive pool to the switch per service. The switch keeps idle connections longer
 * (haproxy.ts, `timeout http-keep-alive`): the edge closes them first, so it never writes a
 * request on a connection the switch is closing. The switch's address is resolved when the edge
 * (re)loads: `up` reloads the edge when it recreates the switch.
 */
function upstreams(args: EdgeConfigArgs): string[] {
  return [...args.routes]
    .sort((a, b) => a.service.localeCompare(b.service))
    .flatMap((route) => [
      `upstream ${upstreamName(route.service)} {`,
      `    server ${args.switchHost}:${route.switchPort};`,
      "    keepalive 32;",
      "    keepalive_timeout 50s;",
      "}",
      "",
    ]);
}

/** An nginx string in double quotes: `"` and `\\` escaped, nothing expanded. */
function nginxQuote(text: string): string {
  return `"${text.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

/** The path of a URI as nginx's `$uri` holds it: without the query, percent-decoded. */
function decodedPath(uri: string): string {
  const path = uri.split("?")[0]!;
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}

/**
 * Maintenance (maintenance.ts) applies to every URI but the services' health paths (monitors and
 * load balancers keep seeing the app): exact keys of a map, one hash lookup per request.
 */
function maintenanceMap(args: EdgeConfigArgs): string[] {
  const open = [
    ...new Set(
      args.routes.flatMap((route) => {
        const path = route.healthPath === undefined ? undefined : publicHealthPath(route, route.healthPath);
        return path === undefined ? [] : [decodedPath(path)];
      }),
    ),
  ].sort();
  return [`map $uri ${M.applies} {`, "    default 1;", ...open.map((path) => `    ${nginxQuote(path)} 0;`), "}", ""];
}

/**
 * Server level: closed while the flag file exists (tested at each request, through the open file
 * cache: a second at most), the Retry-After from the settings file, and the page served with the 503.
 */
function maintenanceServer(hsts: boolean): string[] {
  return [
    `set ${M.retryAfter} ${DEFAULT_RETRY_AFTER_SECONDS};`,
    `include ${MAINTENANCE_DIR}/*.conf;`,
    `set ${M.closed} 0;`,
    `if (-f ${MAINTENANCE_FLAG_FILE}) {`,
    `    set ${M.closed} ${M.applies};`,
    "}",
    "open_file_cache max=64 inactive=20s;",
    "open_file_cache_valid 1s;",
    "open_file_cache_errors on;",
    "",
    `location = ${MAINTENANCE_PAGE_URI} {`,
    "    internal;",
    `    alias ${MAINTENANCE_PAGE_FILE};`,
    "    default_type text/html;",
    "    charset utf-8;",
    // add_header here replaces the server's: all of them again.
    `    add_header Retry-After ${M.retryAfter} always;`,
    '    add_header Cache-Control "no-store" always;',
    ...indent(securityHeaders(hsts), 1),
    "}",
  ];
}

function routeLocations(args: EdgeConfigArgs): string[] {
  // Longest prefix first only for readability: nginx picks the longest match anyway.
  const routes = [...args.routes].sort((a, b) => b.prefix.length - a.prefix.length || a.prefix.localeCompare(b.prefix));
  return routes.flatMap((route) => [
    `# service ${route.service}`,
    `location ${route.prefix} {`,
    // `return` is what is safe in an `if` in a location.
    `    if (${M.closed}) {`,
    `        error_page 503 ${MAINTENANCE_PAGE_URI};`,
    "        return 503;",
    "    }",
    // A URI part (`/`) replaces the matched prefix; none passes the original URI unchanged.
    `    proxy_pass http://${upstreamName(route.service)}${route.stripPrefix ? "/" : ""};`,
    ...(route.readTimeoutSeconds !== undefined && route.readTimeoutSeconds !== DEFAULT_READ_TIMEOUT_SECONDS
      ? [`    proxy_read_timeout ${route.readTimeoutSeconds}s;`]
      : []),
    ...(route.clientMaxBodySize !== undefined ? [`    client_max_body_size ${route.clientMaxBodySize};`] : []),
    "}",
  ]);
}

/**
 * Where ACME HTTP-01 challenges are answered: certbot's webroot. With peers (several hosts behind
 * one load balancer, each issuing its own certificate), the challenge reaches whichever host the
 * balancer picks: one it does not hold is asked of each peer in turn until one has it.
 */
function acmeLocation(peers: readonly string[] = []): string[] {
  const own = ["location ^~ /.well-known/acme-challenge/ {", `    root ${ACME_WEBROOT};`, "    default_type text/plain;"];
  if (peers.length === 0) return [...own, "}"];
  const asked = `$http_${ACME_PEER_HEADER.toLowerCase().replace(/-/g, "_")}`;
  return [
    ...own,
    "    try_files $uri @acme_peers;",
    "}",
    "location @acme_peers {",
    // A peer asked by another answers from its own files only: no request goes round in circles.
    `    if (${asked}) {`,
    "        return 404;",
    "    }",
    `    proxy_pass http://${ACME_PEERS_UPSTREAM};`,
    `    proxy_set_header ${ACME_PEER_HEADER} 1;`,
    "    proxy_set_header Host $host;",
    "    proxy_next_upstream error timeout http_404;",
    `    proxy_next_upstream_tries ${peers.length};`,
    "    proxy_connect_timeout 2s;",
    "    proxy_read_timeout 5s;",
    "}",
  ];
}

const ACME_PEERS_UPSTREAM = "permacoop_acme_peers";

function acmePeersUpstream(peers: readonly string[] = []): string[] {
  if (peers.length === 0) return [];
  // max_fails=0: a peer that was down a moment ago is asked again (a challenge is a rare request).
  return [`upstream ${ACME_PEERS_UPSTREAM} {`, ...peers.map((peer) => `    server ${peer} max_fails=0;`), "}", ""];
}

/** The edge's `conf.d/default.conf`. */
export function renderEdgeConfig(args: EdgeConfigArgs): string {
  if (args.hostnames.length === 0) throw new Error("renderEdgeConfig: at least one hostname is required");
  if (args.routes.length === 0) throw new Error("renderEdgeConfig: at least one route is required");
  const serverNames = `server_name ${args.hostnames.join(" ")};`;
  const common = [
    "server_tokens off;",
    `client_max_body_size ${args.clientMaxBodySize};`,
    "proxy_http_version 1.1;",
    // A WebSocket's upgrade passes on (its connection leaves the pool); any other request keeps
    // its pooled connection (no Connection header).
    "proxy_set_header Upgrade $http_upgrade;",
    "proxy_set_header Connection $connection_upgrade;",
    "proxy_set_header Host $host;",
    "proxy_set_header X-Real-IP $remote_addr;",
    "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;",
    `proxy_set_header X-Forwarded-Proto ${args.clientScheme ?? "$scheme"};`,
    "proxy_set_header X-Forwarded-Host $host;",
    "proxy_connect_timeout 5s;",
    `proxy_read_timeout ${DEFAULT_READ_TIMEOUT_SECONDS}s;`,
  ];

  const out: string[] = [
    "# Rendered by permacoop-infra (components/proxy/nginx.ts). Do not edit on the host.",
    "",
    "map $http_upgrade $connection_upgrade {",
    "    default upgrade;",
    "    '' '';",
    "}",
    "",
    ...upstreams(args),
    // Both variants: a host's first certificate is issued while its HTTP-only one serves.
    ...acmePeersUpstream(args.acmePeers),
    ...maintenanceMap(args),
  ];
  if (args.tls) {
    out.push(
      "server {",
      ...indent(
        [
          "listen 80;",
          "listen [::]:80;",
          serverNames,
          "server_tokens off;",
          "",
          ...acmeLocation(args.acmePeers),
          "",
          "location / {",
          `    return 301 https://$host${args.httpsPort && args.httpsPort !== 443 ? `:${args.httpsPort}` : ""}$request_uri;`,
          "}",
        ],
        1,
      ),
      "}",
      "",
      "server {",
      ...indent(
        [
          "listen 443 ssl http2;",
          "listen [::]:443 ssl http2;",
          serverNames,
          "",
          `ssl_certificate ${args.certDir ?? CERT_DIR}/fullchain.pem;`,
          `ssl_certificate_key ${args.certDir ?? CERT_DIR}/privkey.pem;`,
          "ssl_protocols TLSv1.2 TLSv1.3;",
          `ssl_ciphers ${MOZILLA_INTERMEDIATE_CIPHERS};`,
          "ssl_prefer_server_ciphers off;",
          "ssl_session_timeout 1d;",
          "ssl_session_cache shared:MozSSL:10m;",
          "ssl_session_tickets off;",
          "",
          ...common,
          ...securityHeaders(true),
          "",
          ...maintenanceServer(true),
          "",
          ...acmeLocation(),
          "",
          ...routeLocations(args),
        ],
        1,
      ),
      "}",
    );
  } else {
    out.push(
      "server {",
      ...indent(
        [
          "listen 80;",
          "listen [::]:80;",
          serverNames,
          "",
          ...common,
          // Behind a load balancer that ends TLS, the browser is on HTTPS: HSTS applies.
          ...securityHeaders(args.clientScheme === "https"),
          "",
          ...maintenanceServer(args.clientScheme === "https"),
          "",
          ...acmeLocation(args.acmePeers),
          "",
          ...routeLocations(args),
        ],
        1,
      ),
      "}",
    );
  }
  return `${out.join("\n")}\n`;
}
