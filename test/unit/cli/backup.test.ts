import { parseBackupArgs } from "../../../cli/backup";

describe("npm run backup / restore arguments", () => {
  it("takes a backup, lists them, or restores one by name", () => {
    expect(parseBackupArgs("backup", ["-s", "local"])).toEqual({ action: "backup", stack: "local" });
    expect(parseBackupArgs("backup", ["--list", "-s", "local"])).toEqual({ action: "list", stack: "local" });
    expect(parseBackupArgs("backup", ["-s", "prod", "--download", "./final"])).toEqual({ action: "backup", stack: "prod", download: "./final" });
    expect(parseBackupArgs("restore", ["-s", "prod", "prod-20261121T030000Z-daily.dump"])).toEqual({
      action: "restore",
      stack: "prod",
      backup: "prod-20261121T030000Z-daily.dump",
      yes: false,
    });
    expect(parseBackupArgs("restore", ["prod-1.dump", "--yes", "-s", "prod"])).toMatchObject({ yes: true });
  });

  it.each([
    ["backup", [], /missing -s <stack>/],
    ["backup", ["-s", "prod", "now"], /unexpected: now/],
    ["backup", ["-s", "prod", "--download"], /--download needs a directory/],
    ["backup", ["-s", "prod", "--list", "--download", "d"], /--list or --download, not both/],
    ["restore", ["-s", "prod"], /missing <backup>: list them with npm run backup -- -s prod --list/],
    ["restore", ["-s", "prod", "../../etc/passwd"], /expected a backup name/],
    ["restore", ["-s", "prod", "a.dump", "b.dump"], /unexpected: a.dump b.dump/],
  ] as const)("refuses %s %j with the usage", (command, argv, reason) => {
    expect(() => parseBackupArgs(command, argv)).toThrow(/usage: npm run (backup|restore) --/);
    expect(() => parseBackupArgs(command, argv)).toThrow(reason);
  });
});
