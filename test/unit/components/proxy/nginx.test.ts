import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EdgeConfigArgs, renderEdgeConfig, renderSwitchConfig } from "../../../../components/proxy/nginx";
import { nginxTest, selfSignedCertificate } from "../../../support/validators";

const routes = [
  { service: "app", prefix: "/", switchPort: 8001 },
  { service: "api", prefix: "/api/", switchPort: 8002 },
];
const plain: EdgeConfigArgs = { hostnames: ["permacoop.example.org"], tls: false, switchHost: "pc-prod-switch", routes, clientMaxBodySize: "10m" };

describe("edge nginx configuration", () => {
  it("matches the snapshots (HTTP and HTTPS)", () => {
    expect(renderEdgeConfig(plain)).toMatchSnapshot("http");
    expect(renderEdgeConfig({ ...plain, tls: true, hostnames: ["permacoop.example.org", "www.example.org"] })).toMatchSnapshot("https");
  });

  it("routes each prefix to its service's switch port", () => {
    const conf = renderEdgeConfig(plain);
    expect(conf).toMatch(/location \/api\/ \{\s+set \$switch_api http:\/\/pc-prod-switch:8002;\s+proxy_pass \$switch_api;/);
    expect(conf).toMatch(/location \/ \{\s+set \$switch_app http:\/\/pc-prod-switch:8001;/);
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
    const result = nginxTest(renderEdgeConfig(plain));
    expect(result.output).toContain("syntax is ok");
    expect(result.ok).toBe(true);
  });

  it("passes nginx -t (HTTPS, with a certificate in place)", () => {
    const certDir = mkdtempSync(join(tmpdir(), "live-"));
    const cert = selfSignedCertificate("permacoop.example.org");
    writeFileSync(join(certDir, "fullchain.pem"), cert.fullchain);
    writeFileSync(join(certDir, "privkey.pem"), cert.privkey);
    const result = nginxTest(renderEdgeConfig({ ...plain, tls: true, certDir }));
    expect(result.output).toContain("syntax is ok");
    expect(result.ok).toBe(true);
  });

  it("nginx -t really rejects a broken configuration (the validator can fail)", () => {
    const result = nginxTest(renderEdgeConfig(plain).replace("proxy_pass $switch_app;", "proxy_pass $switch_app"));
    expect(result.ok).toBe(false);
  });
});

describe("switch nginx configuration", () => {
  const conf = renderSwitchConfig({ service: "app", listenPort: 8001, container: "pc-prod-app-1-abc", containerPort: 3000 });

  it("names the live container on the line the rollout reads, and proxies to it", () => {
    expect(conf).toMatch(/^# live: pc-prod-app-1-abc$/m);
    expect(conf).toContain("listen 8001;");
    expect(conf).toContain("set $live_upstream http://pc-prod-app-1-abc:3000;");
    expect(conf).toContain("proxy_pass $live_upstream;");
    expect(conf).toMatchSnapshot();
  });

  it("passes nginx -t", () => {
    // The upstream is resolved per request: a name that resolves nowhere still loads.
    const result = nginxTest(renderSwitchConfig({ service: "app", listenPort: 8001, container: "pc-nowhere-app-1", containerPort: 3000 }));
    expect(result.output).toContain("syntax is ok");
    expect(result.ok).toBe(true);
  });
});
