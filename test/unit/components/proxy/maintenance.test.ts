import fc from "fast-check";
import {
  describeMaintenanceFlag,
  MAINTENANCE_DIR,
  MAINTENANCE_PAGE_URI,
  publicHealthPath,
  renderMaintenanceFlag,
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
const flag = renderMaintenanceFlag({ retryAfterSeconds: 300, since: new Date("2026-12-03T01:00:00Z"), by: "ops@laptop" });

/** nginx -t with the maintenance directory inside the validator's prefix (relative include). */
function nginxWithMaintenance(conf: string, files: Record<string, string>) {
  return nginxTest(conf.replaceAll(MAINTENANCE_DIR, "maintenance"), files);
}

describe("maintenance mode", () => {
  it("closes every route of the edge but the health paths and ACME, through one map", () => {
    const conf = renderEdgeConfig(args);
    const map = /map \$permacoop_maintenance\$uri \$permacoop_closed \{([^}]*)\}/.exec(conf)![1]!;
    // Health paths as $uri holds them: the prefix kept or stripped, no query, percent-decoded.
    expect(
      map
        .trim()
        .split("\n")
        .map((l) => l.trim()),
    ).toEqual(["default $permacoop_maintenance;", '"1/api/health" 0;', '"1/healthz" 0;', '"1/kit/up" 0;', '"1/odd/h$x;\'A\\"" 0;']);
    expect(conf.match(/if \(\$permacoop_closed\) \{\s+error_page 503 \/\.permacoop\/maintenance\.html;\s+return 503;\s+\}/g)).toHaveLength(routes.length);
    expect(/location \^~ \/\.well-known\/acme-challenge\/ \{[^}]*\}/.exec(conf)![0]).not.toContain("permacoop_closed");
    expect(conf).toContain(`include ${MAINTENANCE_DIR}/*.conf;`);
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

  it("passes nginx -t off (no flag file) and on (the flag file and page in place)", () => {
    const conf = renderEdgeConfig(args);
    const off = nginxWithMaintenance(conf, {});
    expect(off.output).toContain("syntax is ok");
    expect(off.ok).toBe(true);
    const on = nginxWithMaintenance(conf, { "maintenance/on.conf": flag, "maintenance/page.html": renderMaintenancePage("back at 3") });
    expect(on.output).toContain("syntax is ok");
    expect(on.ok).toBe(true);
    // The validator can fail: a flag file nginx cannot read.
    expect(nginxWithMaintenance(conf, { "maintenance/on.conf": "set $permacoop_maintenance" }).ok).toBe(false);
  });

  it("records who and since when, and reads it back for ops status", () => {
    expect(flag).toBe(
      "# maintenance on since 2026-12-03T01:00:00.000Z by ops@laptop; Retry-After 300\nset $permacoop_maintenance 1;\nset $permacoop_retry_after 300;\n",
    );
    expect(describeMaintenanceFlag(flag)).toBe("maintenance: on since 2026-12-03T01:00:00.000Z by ops@laptop (Retry-After 300 s)");
    expect(describeMaintenanceFlag("")).toBe("maintenance: off");
    // A name that tries to end the comment stays in it.
    const sneaky = renderMaintenanceFlag({ retryAfterSeconds: 1, since: new Date(0), by: "x\nset $permacoop_maintenance 0;" });
    expect(sneaky.split("\n").filter((l) => l.startsWith("set "))).toEqual(["set $permacoop_maintenance 1;", "set $permacoop_retry_after 1;"]);
  });

  it("refuses a Retry-After out of range", () => {
    for (const retryAfterSeconds of [0, -5, 1.5, 86_401, Number.NaN])
      expect(() => renderMaintenanceFlag({ retryAfterSeconds, since: new Date(), by: "x" })).toThrow(/retryAfterSeconds must be an integer from 1 to 86400/);
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
