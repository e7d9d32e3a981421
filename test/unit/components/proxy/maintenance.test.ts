import fc from "fast-check";
import {
  describeMaintenanceFlag,
  MAINTENANCE_DIR,
  MAINTENANCE_PAGE_URI,
  publicHealthPath,
  renderMaintenanceSettings,
  renderMaintenancePage,
} from "../../../../components/proxy/maintenance";
import { EdgeConfigArgs, renderEdgeConfig } from "../../../../components/proxy/nginx";
import { nginxTest } from "../../../support/validators";

const routes = [
  { service: "app", prefix: "/", switchPort: 8001, healthPath: "/healthz" },
  { service: "api", prefix: "/api/", switchPort: 8002, healthPath: "/api/health?full=1" },
  { service: "kit", prefix: "/kit/", switchPort: 8003, stripPrefix: true, healthPath: "/up" },
  // An odd health path: quoted, never expanded.
  { service: "odd", prefix: "/odd/", switchPort: 8004, stripPrefix: true, healthPath: "/h$x;'%41\"" },
];
const args: EdgeConfigArgs = { hostnames: ["permacoop.example.org"], tls: false, switchHost: "127.0.0.1", routes, clientMaxBodySize: "10m" };
const settings = renderMaintenanceSettings(300);

/** nginx -t with the maintenance directory inside the validator's prefix (relative include). */
function nginxWithMaintenance(conf: string, files: Record<string, string>) {
  return nginxTest(conf.replaceAll(MAINTENANCE_DIR, "maintenance"), files);
}

describe("maintenance mode", () => {
  it("closes every route of the edge while the flag file exists, but the health paths and ACME", () => {
    const conf = renderEdgeConfig(args);
    const map = /map \$uri \$permacoop_maintenance_applies \{([^}]*)\}/.exec(conf)![1]!;
    // Health paths as $uri holds them: the prefix kept or stripped, no query, percent-decoded.
    expect(
      map
        .trim()
        .split("\n")
        .map((l) => l.trim()),
    ).toEqual(["default 1;", '"/api/health" 0;', '"/healthz" 0;', '"/kit/up" 0;', '"/odd/h$x;\'A\\"" 0;']);
    // Tested at each request (no reload to turn it on or off), through the open file cache.
    expect(conf).toMatch(
      /set \$permacoop_closed 0;\s+if \(-f \/etc\/nginx\/conf\.d\/maintenance\/on\) \{\s+set \$permacoop_closed \$permacoop_maintenance_applies;\s+\}/,
    );
    expect(conf).toContain("open_file_cache_valid 1s;");
    expect(conf.match(/if \(\$permacoop_closed\) \{\s+error_page 503 \/\.permacoop\/maintenance\.html;\s+return 503;\s+\}/g)).toHaveLength(routes.length);
    expect(/location \^~ \/\.well-known\/acme-challenge\/ \{[^}]*\}/.exec(conf)![0]).not.toContain("permacoop_closed");
    // The default Retry-After first, the settings file's after.
    expect(conf).toMatch(/set \$permacoop_retry_after 600;\s+include \/etc\/nginx\/conf\.d\/maintenance\/\*\.conf;/);
  });

  it("serves the page internally, with Retry-After, no-store and the security headers (TLS too)", () => {
    for (const tls of [false, true]) {
      const page = new RegExp(`location = ${MAINTENANCE_PAGE_URI.replace(/\./g, "\\.")} \\{([^}]*)\\}`).exec(renderEdgeConfig({ ...args, tls }))![1]!;
      expect(page).toContain("internal;");
      expect(page).toContain("add_header Retry-After $permacoop_retry_after always;");
      expect(page).toContain('add_header Cache-Control "no-store" always;');
      expect(page).toContain('add_header X-Frame-Options "DENY" always;');
      expect(page.includes("Strict-Transport-Security")).toBe(tls);
    }
  });

  it("passes nginx -t off (no files) and on (the flag, settings and page in place)", () => {
    const conf = renderEdgeConfig(args);
    const off = nginxWithMaintenance(conf, {});
    expect(off.output).toContain("syntax is ok");
    expect(off.ok).toBe(true);
    const on = nginxWithMaintenance(conf, {
      "maintenance/on": "since 2026-12-03T01:00:00Z by ops; Retry-After 300\n",
      "maintenance/settings.conf": settings,
      "maintenance/page.html": renderMaintenancePage("back at 3"),
    });
    expect(on.output).toContain("syntax is ok");
    expect(on.ok).toBe(true);
    // The validator can fail: settings nginx cannot read.
    expect(nginxWithMaintenance(conf, { "maintenance/settings.conf": "set $permacoop_retry_after" }).ok).toBe(false);
  });

  it("sets the Retry-After in the settings, and tells ops status what the flag says", () => {
    expect(settings).toBe("set $permacoop_retry_after 300;\n");
    expect(describeMaintenanceFlag("since 2026-12-03T01:00:00Z by ops from 10.0.0.1; Retry-After 300\n")).toBe(
      "maintenance: on since 2026-12-03T01:00:00Z by ops from 10.0.0.1 (Retry-After 300 s)",
    );
    expect(describeMaintenanceFlag("")).toBe("maintenance: off");
  });

  it("refuses a Retry-After out of range", () => {
    for (const retryAfterSeconds of [0, -5, 1.5, 86_401, Number.NaN])
      expect(() => renderMaintenanceSettings(retryAfterSeconds)).toThrow(/retryAfterSeconds must be an integer from 1 to 86400/);
  });

  it("escapes the message: any text stays text on the page", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (message) => {
        const page = renderMaintenancePage(message);
        const body = page.slice(page.indexOf("<h1>"));
        // No tag but the page's own.
        expect(body.replace(/<\/?(h1|p)>|<\/html>/g, "")).not.toMatch(/[<>]/);
      }),
    );
    expect(renderMaintenancePage('Back at <b>3</b> & "soon"\n\nSorry')).toContain("<p>Back at &lt;b&gt;3&lt;/b&gt; &amp; &quot;soon&quot;</p>\n<p>Sorry</p>");
    expect(renderMaintenancePage("")).toContain("<p>We will be back shortly.</p>");
    expect(() => renderMaintenancePage("x".repeat(2001))).toThrow(/at most 2000 characters/);
  });

  it("knows a health path's public URI", () => {
    expect(publicHealthPath({ prefix: "/" }, "/healthz")).toBe("/healthz");
    expect(publicHealthPath({ prefix: "/kit/", stripPrefix: true }, "/healthz")).toBe("/kit/healthz");
    expect(publicHealthPath({ prefix: "/api/" }, "/api/health")).toBe("/api/health");
    // Not under its route: the edge sends it to another service.
    expect(publicHealthPath({ prefix: "/api/" }, "/healthz")).toBeUndefined();
  });
});
