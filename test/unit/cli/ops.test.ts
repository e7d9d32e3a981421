import { parseOpsArgs } from "../../../cli/ops";

describe("npm run ops arguments", () => {
  it("reads an action, a stack and an optional service", () => {
    expect(parseOpsArgs(["status", "-s", "prod"])).toEqual({ action: "status", stack: "prod", service: undefined });
    expect(parseOpsArgs(["logs", "--stack", "rewrite", "api"])).toEqual({ action: "logs", stack: "rewrite", service: "api" });
    expect(parseOpsArgs(["exec", "app", "-s", "local"])).toEqual({ action: "exec", stack: "local", service: "app" });
  });

  it.each([
    [[], /unknown action: none/],
    [["reboot", "-s", "prod"], /unknown action: reboot/],
    [["status"], /missing -s <stack>/],
    [["logs", "-s", "prod", "app", "extra"], /unexpected: extra/],
  ])("refuses %j with the usage", (argv, reason) => {
    expect(() => parseOpsArgs(argv as string[])).toThrow(/usage: npm run ops -- <status\|logs\|exec\|psql\|audit> -s <stack> \[service\]/);
    expect(() => parseOpsArgs(argv as string[])).toThrow(reason);
  });
});
