import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { commandLine, healthProbe, liveContainer, parseOpsArgs } from "../../../cli/ops";
import { hostIndex } from "../../../cli/host";
import { hostContract } from "../../../components/runtime/contract";

describe("npm run ops arguments", () => {
  it("reads an action, a stack and an optional service", () => {
    expect(parseOpsArgs(["status", "-s", "prod"])).toEqual({ action: "status", stack: "prod", service: undefined });
    expect(parseOpsArgs(["logs", "--stack", "rewrite", "api"])).toEqual({ action: "logs", stack: "rewrite", service: "api" });
    expect(parseOpsArgs(["exec", "app", "-s", "local"])).toEqual({ action: "exec", stack: "local", service: "app" });
  });

  it("takes --host among several hosts, by address or number", () => {
    expect(parseOpsArgs(["logs", "-s", "prod", "--host", "10.0.0.12", "api"])).toEqual({ action: "logs", stack: "prod", service: "api", host: "10.0.0.12" });
    expect(parseOpsArgs(["status", "--host", "2", "-s", "prod"])).toEqual({ action: "status", stack: "prod", service: undefined, host: "2" });
    const addresses = ["10.0.0.11", "10.0.0.12", "10.0.0.13"];
    expect(hostIndex(addresses, undefined)).toBe(0);
    expect(hostIndex(addresses, "10.0.0.13")).toBe(2);
    expect(hostIndex(addresses, "2")).toBe(1);
    expect(() => hostIndex(addresses, "4")).toThrow("--host 4: not a host of this stack (hosts: 1=10.0.0.11, 2=10.0.0.12, 3=10.0.0.13)");
    expect(() => hostIndex(addresses, "10.0.0.9")).toThrow(/not a host of this stack/);
  });

  it.each([
    [[], /unknown action: none/],
    [["reboot", "-s", "prod"], /unknown action: reboot/],
    [["status"], /missing -s <stack>/],
    [["logs", "-s", "prod", "app", "extra"], /unexpected: extra/],
    [["logs", "-s", "prod", "--host"], /--host: which host\?/],
  ])("refuses %j with the usage", (argv, reason) => {
    expect(() => parseOpsArgs(argv as string[])).toThrow(
      /usage: npm run ops -- <status\|logs\|exec\|psql\|audit\|jobs\|run> -s <stack> \[--host <address\|number>\] \[service\]/,
    );
    expect(() => parseOpsArgs(argv as string[])).toThrow(reason);
  });
});

describe("npm run ops -- run and jobs", () => {
  it("takes the command after --, whatever it holds", () => {
    expect(parseOpsArgs(["run", "-s", "prod", "app", "--", "make", "report"])).toEqual({
      action: "run",
      stack: "prod",
      service: "app",
      command: "'make' 'report'",
    });
    expect(parseOpsArgs(["run", "app", "-s", "prod", "--", "sh", "-c", "echo $DATABASE_HOST", "-s"])).toMatchObject({
      stack: "prod",
      command: "'sh' '-c' 'echo $DATABASE_HOST' '-s'",
    });
    expect(parseOpsArgs(["run", "-s", "prod", "app", "--", "make report && echo done"])).toMatchObject({ command: "make report && echo done" });
    expect(parseOpsArgs(["jobs", "-s", "prod"])).toEqual({ action: "jobs", stack: "prod", service: undefined });
    expect(parseOpsArgs(["jobs", "-s", "prod", "nightly"])).toEqual({ action: "jobs", stack: "prod", service: "nightly" });
  });

  it.each([
    [["run", "-s", "prod", "--", "sh"], /run: which service\? e\.g\. npm run ops -- run -s prod app -- sh/],
    [["run", "-s", "prod", "app"], /run: the command after --, e\.g\. npm run ops -- run -s prod app -- sh/],
    [["run", "-s", "prod", "app", "--", " "], /run: the command after --/],
    [["logs", "-s", "prod", "--", "x"], /-- <command> goes with run only/],
  ])("refuses %j with the fix", (argv, reason) => {
    expect(() => parseOpsArgs(argv as string[])).toThrow(reason);
  });

  it("quotes each word so that sh -c runs exactly them", () => {
    const words = ["printf", "%s|", "a b", "$HOME", "'q'", "`x`"];
    const out = execFileSync("sh", ["-c", commandLine(words)], { encoding: "utf8" });
    expect(out).toBe("a b|$HOME|'q'|`x`|");
  });
});

describe("npm run ops -- status: the health probe run on the host", () => {
  const HOSTILE = [
    "/$(touch PWNED)",
    "/`touch PWNED`",
    "/'; touch PWNED; '",
    '/a"$(touch PWNED)"',
    "/x\ntouch PWNED",
    "/[a]{b}*?",
    "/é✓",
    "/healthz?check=db&x=$HOME",
  ];

  it.each(HOSTILE)("passes %j to curl as one literal argument, and runs nothing else", (healthPath) => {
    const dir = mkdtempSync(join(tmpdir(), "ops-probe-"));
    try {
      // Stubs: docker answers an address, curl records its arguments.
      writeFileSync(join(dir, "docker"), "#!/bin/sh\necho 10.0.0.5\n", { mode: 0o755 });
      writeFileSync(join(dir, "curl"), '#!/bin/sh\nfor a in "$@"; do printf "%s\\0" "$a"; done > "$PWD/curl.args"\n', { mode: 0o755 });
      execFileSync("bash", ["-c", healthProbe("pc-e2e", "pc-e2e-app-1", 3000, healthPath)], {
        cwd: dir,
        env: { PATH: `${dir}:/usr/bin:/bin`, HOME: "/home/ops" },
      });
      expect(existsSync(join(dir, "PWNED"))).toBe(false);
      const args = readFileSync(join(dir, "curl.args"), "utf8").split("\0").slice(0, -1);
      expect(args).toContain("--globoff");
      expect(args[args.length - 1]).toBe(`http://10.0.0.5:3000${healthPath}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("npm run ops -- logs|exec: which live container", () => {
  /** Runs the host command with a stub docker: the switch lists `live`, and `running` are the ones that run. */
  const pick = (live: string, running: string[]) => {
    const dir = mkdtempSync(join(tmpdir(), "ops-live-"));
    try {
      writeFileSync(
        join(dir, "docker"),
        `#!/bin/sh\nif [ "$1" = exec ]; then echo ${JSON.stringify(live)}; exit 0; fi\nfor c in ${running.join(" ")}; do [ "$4" = "$c" ] && { echo true; exit 0; }; done\necho false\n`,
        { mode: 0o755 },
      );
      return execFileSync("sh", ["-c", liveContainer(hostContract("prod"), "app")], { encoding: "utf8", env: { PATH: `${dir}:/usr/bin:/bin` } }).trim();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };

  it("takes the first replica that runs, not a killed one", () => {
    expect(pick("pc-prod-app-1 pc-prod-app-2 pc-prod-app-3", ["pc-prod-app-2", "pc-prod-app-3"])).toBe("pc-prod-app-2");
    expect(pick("pc-prod-app-1 pc-prod-app-2", ["pc-prod-app-1", "pc-prod-app-2"])).toBe("pc-prod-app-1");
  });

  it("falls back to the first when none runs (its logs say why)", () => {
    expect(pick("pc-prod-app-1 pc-prod-app-2", [])).toBe("pc-prod-app-1");
  });
});
