/**
 * nginx configuration of a host, as pure functions of typed input.
 *
 * Two tiers, so that a rollout never reloads the nginx that holds the clients' connections:
 * - the **edge** terminates HTTP(S), keeps client keep-alive connections, adds headers and
 *   routes each path prefix to the switch port of its service. It is reloaded only when the
 *   routes, hostnames or certificates change.
 * - the **switch** has one port per service pointing at that service's live container. A
 *   rollout rewrites one file and reloads the switch; the edge opens a fresh connection to the
 *   switch per request, so the reload closes nothing a client holds.
 */

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
}

export interface SwitchTarget {
  readonly service: string;
  readonly listenPort: number;
  /** Container name of the live version, resolvable on the environment's network. */
  readonly container: string;
  readonly containerPort: number;
}

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

function securityHeaders(tls: boolean): string[] {
  return [
    'add_header X-Frame-Options "DENY" always;',
    'add_header X-Content-Type-Options "nosniff" always;',
    'add_header Referrer-Policy "strict-origin-when-cross-origin" always;',
    ...(tls ? ['add_header Strict-Transport-Security "max-age=63072000; includeSubDomains" always;'] : []),
  ];
}

function routeLocations(args: EdgeConfigArgs): string[] {
  // Longest prefix first only for readability: nginx picks the longest match anyway.
  const routes = [...args.routes].sort((a, b) => b.prefix.length - a.prefix.length || a.prefix.localeCompare(b.prefix));
  return routes.flatMap((route) => [
    `# service ${route.service}`,
    `location ${route.prefix} {`,
    // A variable makes nginx resolve the switch at request time (it may be recreated), and
    // passes the original URI unchanged.
    `    set $switch_${route.service.replace(/-/g, "_")} http://${args.switchHost}:${route.switchPort};`,
    `    proxy_pass $switch_${route.service.replace(/-/g, "_")};`,
    "}",
  ]);
}

function acmeLocation(): string[] {
  return ["location ^~ /.well-known/acme-challenge/ {", `    root ${ACME_WEBROOT};`, "    default_type text/plain;", "}"];
}

/** The edge's `conf.d/default.conf`. */
export function renderEdgeConfig(args: EdgeConfigArgs): string {
  if (args.hostnames.length === 0) throw new Error("renderEdgeConfig: at least one hostname is required");
  if (args.routes.length === 0) throw new Error("renderEdgeConfig: at least one route is required");
  const serverNames = `server_name ${args.hostnames.join(" ")};`;
  const common = [
    "server_tokens off;",
    `client_max_body_size ${args.clientMaxBodySize};`,
    "# Docker's embedded DNS: the switch is resolved per request, cached 10 s.",
    "resolver 127.0.0.11 valid=10s ipv6=off;",
    "proxy_http_version 1.1;",
    'proxy_set_header Connection "";',
    "proxy_set_header Host $host;",
    "proxy_set_header X-Real-IP $remote_addr;",
    "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;",
    "proxy_set_header X-Forwarded-Proto $scheme;",
    "proxy_set_header X-Forwarded-Host $host;",
    "proxy_connect_timeout 5s;",
    "proxy_read_timeout 60s;",
  ];

  const out: string[] = ["# Rendered by permacoop-infra (components/proxy/nginx.ts). Do not edit on the host.", ""];
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
          ...acmeLocation(),
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
        ["listen 80;", "listen [::]:80;", serverNames, "", ...common, ...securityHeaders(false), "", ...acmeLocation(), "", ...routeLocations(args)],
        1,
      ),
      "}",
    );
  }
  return `${out.join("\n")}\n`;
}

/** The switch's file for one service: a port proxying to that service's live container. */
export function renderSwitchConfig(target: SwitchTarget): string {
  return [
    `# Rendered by permacoop-infra for service ${target.service}; the rollout reads the next line.`,
    `# live: ${target.container}`,
    "server {",
    `    listen ${target.listenPort};`,
    // Resolved per request by Docker's DNS, not at load: a stopped container fails its own
    // requests (502), never the switch's start or an `nginx -t` for another service.
    "    resolver 127.0.0.11 valid=10s ipv6=off;",
    `    set $live_upstream http://${target.container}:${target.containerPort};`,
    "    location / {",
    "        proxy_pass $live_upstream;",
    "        proxy_http_version 1.1;",
    '        proxy_set_header Connection "";',
    // The edge already set these; pass them through untouched.
    "        proxy_set_header Host $host;",
    "        proxy_pass_request_headers on;",
    "        proxy_connect_timeout 5s;",
    "        proxy_read_timeout 60s;",
    "    }",
    "}",
    "",
  ].join("\n");
}
