import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { maintenancePage, parseMaintenanceArgs } from "../../../cli/maintenance";

describe("npm run maintenance: arguments", () => {
  it("takes on (message, page, Retry-After), off and status", () => {
    expect(parseMaintenanceArgs(["-s", "prod", "on"])).toEqual({ action: "on", stack: "prod", retryAfterSeconds: 600 });
    expect(parseMaintenanceArgs(["on", "-s", "prod", "--message", "Back at 3", "--retry-after", "120"])).toEqual({
      action: "on",
      stack: "prod",
      retryAfterSeconds: 120,
      message: "Back at 3",
    });
    expect(parseMaintenanceArgs(["-s", "prod", "on", "--page", "down.html"])).toMatchObject({ pageFile: "down.html" });
    expect(parseMaintenanceArgs(["-s", "prod", "off"])).toEqual({ action: "off", stack: "prod" });
    expect(parseMaintenanceArgs(["status", "--stack", "rewrite"])).toEqual({ action: "status", stack: "rewrite" });
  });

  it("refuses what it cannot honour, with the usage and the fix", () => {
    expect(() => parseMaintenanceArgs(["on"])).toThrow(/missing -s <stack>/);
    expect(() => parseMaintenanceArgs(["-s", "prod"])).toThrow(/expected on, off or status, found nothing/);
    expect(() => parseMaintenanceArgs(["-s", "prod", "pause"])).toThrow(/expected on, off or status, found pause/);
    expect(() => parseMaintenanceArgs(["-s", "prod", "on", "extra"])).toThrow(/unexpected: extra/);
    expect(() => parseMaintenanceArgs(["-s", "prod", "off", "--message", "x"])).toThrow(/go with on/);
    expect(() => parseMaintenanceArgs(["-s", "prod", "on", "--message", "x", "--page", "p.html"])).toThrow(/not both/);
    expect(() => parseMaintenanceArgs(["-s", "prod", "on", "--message"])).toThrow(/--message needs a value/);
    for (const value of ["0", "1.5", "-3", "soon", "86401"])
      expect(() => parseMaintenanceArgs(["-s", "prod", "on", "--retry-after", value])).toThrow(
        new RegExp(`--retry-after: expected whole seconds from 1 to 86400, found ${value} \\(e\\.g\\. --retry-after 600\\)`),
      );
    expect(() => parseMaintenanceArgs(["-s", "prod", "on", "--message", "x".repeat(2001)])).toThrow(/at most 2000 characters.*--page/);
  });

  it("serves the operator's page as is, or the default one with the message", () => {
    const dir = mkdtempSync(join(tmpdir(), "maintenance-"));
    writeFileSync(join(dir, "down.html"), "<h1>Our own page</h1>");
    expect(maintenancePage({ pageFile: join(dir, "down.html") })).toBe("<h1>Our own page</h1>");
    writeFileSync(join(dir, "empty.html"), "");
    expect(() => maintenancePage({ pageFile: join(dir, "empty.html") })).toThrow(/expected an HTML file of 1 byte to 512 KiB, found 0 bytes/);
    expect(maintenancePage({ message: "Back at 3" })).toContain("<p>Back at 3</p>");
  });
});
