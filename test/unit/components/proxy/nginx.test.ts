import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EdgeConfigArgs, renderEdgeConfig } from "../../../../components/proxy/nginx";
import { renderSwitchGlobal } from "../../../../components/proxy/haproxy";
import { nginxTest, selfSignedCertificate } from "../../../support/validators";

const routes = [
  { service: "app", prefix: "/", switchPort: 8001 },
  { service: "api", prefix: "/api/", switchPort: 8002 },
  // Permacoop's second client: its prefix stripped.
  { service: "kit", prefix: "/kit/", switchPort: 8003, stripPrefix: true },
  // Uploads and a slow report: their own body size and read timeout.
  { service: "files", prefix: "/files/", switchPort: 8004, clientMaxBodySize: "200m", readTimeoutSeconds: 300 },
];
const plain: EdgeConfigArgs = { hostnames: ["permacoop.example.org"], tls: false, switchHost: "pc-prod-switch-haproxy", routes, clientMaxBodySize: "10m" };
/** The locations' maintenance check (its own tests below), out of the way of the others. */
const MAINTENANCE_CHECK = /\n *if \(\$permacoop_closed\) \{\n[^}]*\}/g;
const edge = (args: EdgeConfigArgs) => renderEdgeConfig(args).replace(MAINTENANCE_CHECK, "");
/** What nginx -t loads here: the switch's name resolves only on the environment's network. */
const resolvable = { ...plain, switchHost: "127.0.0.1" };

describe("edge nginx configuration", () => {
  it("matches the snapshots (HTTP and HTTPS)", () => {
    expect(renderEdgeConfig(plain)).toMatchSnapshot("http");
    expect(renderEdgeConfig({ ...plain, tls: true, hostnames: ["permacoop.example.org", "www.example.org"] })).toMatchSnapshot("https");
  });

  it("routes each prefix to its service's switch port, over a keep-alive pool the edge closes first", () => {
    const conf = edge(plain);
    expect(conf).toMatch(/upstream switch_api \{\s+server pc-prod-switch-haproxy:8002;\s+keepalive 32;\s+keepalive_timeout 50s;\s+\}/);
    expect(conf).toMatch(/upstream switch_app \{\s+server pc-prod-switch-haproxy:8001;/);
    expect(conf).toMatch(/location \/api\/ \{\s+proxy_pass http:\/\/switch_api;\s+\}/);
    expect(conf).toMatch(/location \/ \{\s+proxy_pass http:\/\/switch_app;\s+\}/);
    expect(conf).toMatch(/location \/kit\/ \{\s+proxy_pass http:\/\/switch_kit\/;\s+\}/);
    // The switch keeps idle connections longer than the edge does.
    const switchKeepAlive = Number(/timeout http-keep-alive (\d+)s/.exec(renderSwitchGlobal())![1]);
    expect(switchKeepAlive).toBeGreaterThan(50);
  });

  it("gives a route its own read timeout and body size, and the others the server's", () => {
    const conf = edge(plain);
    expect(conf).toMatch(/location \/files\/ \{\s+proxy_pass http:\/\/switch_files;\s+proxy_read_timeout 300s;\s+client_max_body_size 200m;\s+\}/);
    expect(conf).toMatch(/location \/api\/ \{\s+proxy_pass http:\/\/switch_api;\s+\}/);
    expect(conf).toContain("proxy_read_timeout 60s;");
    expect(conf).toContain("client_max_body_size 10m;");
  });

  it("passes a WebSocket's upgrade on, and keeps every other request on the pool (no Connection header)", () => {
    const conf = renderEdgeConfig(plain);
    expect(conf).toMatch(/map \$http_upgrade \$connection_upgrade \{\s+default upgrade;\s+'' '';\s+\}/);
    expect(conf).toContain("proxy_set_header Upgrade $http_upgrade;");
    expect(conf).toContain("proxy_set_header Connection $connection_upgrade;");
    expect(conf).not.toContain('proxy_set_header Connection "";');
  });

  it("sends security and proxy headers, limits bodies, serves the ACME webroot", () => {
    const conf = renderEdgeConfig(plain);
    for (const line of [
      'add_header X-Frame-Options "DENY" always;',
      'add_header X-Content-Type-Options "nosniff" always;',
      "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;",
      "proxy_set_header X-Forwarded-Proto $scheme;",
      "client_max_body_size 10m;",
      "location ^~ /.well-known/acme-challenge/ {",
    ])
      expect(conf).toContain(line);
    expect(conf).not.toContain("Strict-Transport-Security");
  });

  it("behind a load balancer that ends TLS: serves HTTP, tells the services the clients' https, sends HSTS", () => {
    const conf = renderEdgeConfig({ ...plain, clientScheme: "https" });
    expect(conf).not.toContain("listen 443");
    expect(conf).not.toContain("return 301");
    expect(conf).toContain("proxy_set_header X-Forwarded-Proto https;");
    expect(conf).not.toContain("X-Forwarded-Proto $scheme");
    expect(conf).toContain('add_header Strict-Transport-Security "max-age=63072000; includeSubDomains" always;');
    expect(nginxTest(renderEdgeConfig({ ...resolvable, clientScheme: "https" })).ok).toBe(true);
  });

  it("with TLS: redirects HTTP to HTTPS, Mozilla intermediate protocols, HSTS", () => {
    const conf = renderEdgeConfig({ ...plain, tls: true });
    expect(conf).toContain("return 301 https://$host$request_uri;");
    expect(conf).toContain("ssl_protocols TLSv1.2 TLSv1.3;");
    expect(conf).not.toMatch(/TLSv1(\.1)?[ ;]/);
    expect(conf).toContain('add_header Strict-Transport-Security "max-age=63072000; includeSubDomains" always;');
    // The challenge must still answer over plain HTTP.
    const httpServer = conf.slice(0, conf.indexOf("listen 443"));
    expect(httpServer).toContain("/.well-known/acme-challenge/");
  });

  it("keeps a non-default HTTPS port in the redirect", () => {
    expect(renderEdgeConfig({ ...plain, tls: true, httpsPort: 8443 })).toContain("return 301 https://$host:8443$request_uri;");
    expect(renderEdgeConfig({ ...plain, tls: true, httpsPort: 443 })).toContain("return 301 https://$host$request_uri;");
  });

  it("refuses to render without hostnames or routes", () => {
    expect(() => renderEdgeConfig({ ...plain, hostnames: [] })).toThrow(/hostname/);
    expect(() => renderEdgeConfig({ ...plain, routes: [] })).toThrow(/route/);
  });

  it("passes nginx -t (HTTP)", () => {
    const result = nginxTest(renderEdgeConfig(resolvable));
    expect(result.output).toContain("syntax is ok");
    expect(result.ok).toBe(true);
  });

  it("passes nginx -t (HTTPS, with a certificate in place)", () => {
    const certDir = mkdtempSync(join(tmpdir(), "live-"));
    const cert = selfSignedCertificate("permacoop.example.org");
    writeFileSync(join(certDir, "fullchain.pem"), cert.fullchain);
    writeFileSync(join(certDir, "privkey.pem"), cert.privkey);
    const result = nginxTest(renderEdgeConfig({ ...resolvable, tls: true, certDir }));
    expect(result.output).toContain("syntax is ok");
    expect(result.ok).toBe(true);
  });

  it("with several hosts, asks the peers for a challenge it does not hold, once (no loop), and passes nginx -t", () => {
    const certDir = mkdtempSync(join(tmpdir(), "live-"));
    const cert = selfSignedCertificate("permacoop.example.org");
    writeFileSync(join(certDir, "fullchain.pem"), cert.fullchain);
    writeFileSync(join(certDir, "privkey.pem"), cert.privkey);
    const conf = renderEdgeConfig({ ...resolvable, tls: true, certDir, acmePeers: ["127.0.0.2:80", "[::1]:8080"] });
    expect(conf).toContain("upstream permacoop_acme_peers {\n    server 127.0.0.2:80 max_fails=0;\n    server [::1]:8080 max_fails=0;\n}");
    const http = conf.slice(0, conf.indexOf("listen 443"));
    expect(http).toMatch(/location \^~ \/\.well-known\/acme-challenge\/ \{[^}]*try_files \$uri @acme_peers;\n *\}/);
    // A request another host forwarded is answered from this host's files only.
    expect(http).toMatch(/location @acme_peers \{\n *if \(\$http_x_permacoop_acme_peer\) \{\n *return 404;/);
    expect(http).toContain("proxy_set_header X-Permacoop-Acme-Peer 1;");
    expect(http).toContain("proxy_next_upstream_tries 2;");
    const result = nginxTest(conf);
    expect(result.output).toContain("syntax is ok");
    expect(result.ok).toBe(true);
    // Before its first certificate, a host serves the HTTP-only variant: it asks its peers too.
    const beforeCertificate = renderEdgeConfig({ ...resolvable, acmePeers: ["127.0.0.2:80"] });
    expect(beforeCertificate).toContain("try_files $uri @acme_peers;");
    expect(nginxTest(beforeCertificate).ok).toBe(true);
    expect(renderEdgeConfig(resolvable)).not.toContain("acme_peers");
  });

  it("nginx -t really rejects a broken configuration (the validator can fail)", () => {
    const result = nginxTest(renderEdgeConfig(resolvable).replace("proxy_pass http://switch_app;", "proxy_pass http://switch_app"));
    expect(result.ok).toBe(false);
  });
});
