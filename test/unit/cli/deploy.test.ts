import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { commitRecord, parseAuditLog, parseDeployArgs, parseRollbackArgs, plannedChanges, previousImage, recordCommit } from "../../../cli/deploy";
import { parse } from "../../support/mocks";

const D1 = `ghcr.io/fairnesscoop/permacoop@sha256:${"1".repeat(64)}`;
const D2 = `ghcr.io/fairnesscoop/permacoop@sha256:${"2".repeat(64)}`;
const D3 = `ghcr.io/fairnesscoop/permacoop@sha256:${"3".repeat(64)}`;
const OWNER = "4f2a9c0d1e7b3a56";
const line = (at: string, service: string, from: string, to: string, outcome: string, owner = OWNER) =>
  `${at}\tservice=${service}\tactor=deploy from 10.0.0.1\tfrom=${from}\tto=${to}\toutcome=${outcome}\towner=${owner}`;

describe("npm run deploy: arguments", () => {
  it("takes -s <stack>, <service>=<image ref> pairs and --yes", () => {
    expect(parseDeployArgs(["-s", "prod", `app=${D1}`, "api=ghcr.io/org/api:2", "--yes"])).toEqual({
      stack: "prod",
      images: [
        { service: "app", image: D1 },
        { service: "api", image: "ghcr.io/org/api:2" },
      ],
      yes: true,
      record: false,
      dryRun: false,
    });
    expect(parseDeployArgs(["-s", "prod", `app=${D1}`, "--record", "--dry-run"])).toMatchObject({ yes: false, record: true, dryRun: true });
  });

  it("refuses a missing stack, no image, a malformed pair, a bad reference and a service given twice, with the usage", () => {
    expect(() => parseDeployArgs(["app=x:1"])).toThrow(/usage: npm run deploy[\s\S]*missing -s <stack>/);
    expect(() => parseDeployArgs(["-s", "prod"])).toThrow(/no <service>=<image ref> given/);
    expect(() => parseDeployArgs(["-s", "prod", "ghcr.io/org/app:1"])).toThrow(/expected <service>=<image ref>, got "ghcr.io\/org\/app:1"/);
    expect(() => parseDeployArgs(["-s", "prod", "app=ghcr.io/org/app@sha256:abc"])).toThrow(
      /app: expected an image reference such as ghcr.io\/org\/app:main: .*@sha256:<64 hex digits>/,
    );
    expect(() => parseDeployArgs(["-s", "prod", "app=x:1", "app=x:2"])).toThrow(/service app given twice/);
  });
});

describe("npm run deploy: what it changes", () => {
  const config = parse(
    {
      host: { kind: "local" },
      database: { kind: "container" },
      dns: { provider: "none", hostnames: ["localhost"] },
      tls: { enabled: false },
      services: [
        { name: "app", image: "ghcr.io/fairnesscoop/permacoop:main", port: 3000 },
        { name: "kit", image: "permacoop/kit", build: { context: "app" }, port: 3001, route: "/kit/" },
      ],
    },
    {},
    "dev",
  );

  it("names each service's index, current image and new one", () => {
    expect(plannedChanges(config, [{ service: "app", image: D1 }])).toEqual([
      { index: 0, service: "app", from: "ghcr.io/fairnesscoop/permacoop:main", to: D1 },
    ]);
  });

  it("refuses an unknown service and a built one, naming what there is", () => {
    expect(() => plannedChanges(config, [{ service: "web", image: D1 }])).toThrow("no service web in this stack (services: app, kit)");
    expect(() => plannedChanges(config, [{ service: "kit", image: D1 }])).toThrow(/kit is built from app \(build\)/);
  });
});

describe("npm run rollback", () => {
  it("takes -s <stack>, an optional service and --yes", () => {
    expect(parseRollbackArgs(["-s", "prod"])).toEqual({ stack: "prod", service: undefined, yes: false, record: false, dryRun: false });
    expect(parseRollbackArgs(["-s", "prod", "api", "--yes"])).toEqual({ stack: "prod", service: "api", yes: true, record: false, dryRun: false });
    expect(() => parseRollbackArgs(["-s", "prod", "app", "api"])).toThrow(/unexpected: api/);
  });

  it("finds the image that served before the current one, skipping failed rollouts, other services and repeats", () => {
    const log = [
      line("2026-11-01T10:00:00Z", "app", "none", D1, "succeeded"),
      line("2026-11-02T10:00:00Z", "api", "none", D3, "succeeded"),
      line("2026-11-03T10:00:00Z", "app", D1, D2, "succeeded"),
      line("2026-11-04T10:00:00Z", "app", D2, D3, "failed"), // never served
      line("2026-11-05T10:00:00Z", "app", D2, D2, "succeeded"), // an env change: same image
      "",
    ].join("\n");
    const entries = parseAuditLog(log);
    expect(entries).toHaveLength(5);
    expect(entries[0]).toEqual({ at: "2026-11-01T10:00:00Z", service: "app", from: "none", to: D1, outcome: "succeeded", owner: OWNER });
    expect(previousImage(entries, "app", OWNER)).toEqual({ current: D2, previous: D1 });
    expect(previousImage(entries, "api", OWNER)).toBeUndefined(); // one version only
    expect(previousImage(entries, "web", OWNER)).toBeUndefined();
  });

  it("after a rollback, the next rollback goes forward again (the image before the current one)", () => {
    const entries = parseAuditLog(
      [line("t1", "app", "none", D1, "succeeded"), line("t2", "app", D1, D2, "succeeded"), line("t3", "app", D2, D1, "succeeded")].join("\n"),
    );
    expect(previousImage(entries, "app", OWNER)).toEqual({ current: D1, previous: D2 });
  });

  it("reads only the lines of the stack that owns the environment: an earlier one of that name (destroyed) never counts", () => {
    const earlier = "0000aaaa1111bbbb";
    const legacy = `t0\tservice=app\tactor=deploy\tfrom=none\tto=${D3}\toutcome=succeeded`; // before owners were recorded
    const entries = parseAuditLog(
      [
        legacy,
        line("t1", "app", "none", D3, "succeeded", earlier),
        line("t2", "app", D3, D2, "succeeded", earlier),
        line("t3", "app", "none", D1, "succeeded"),
      ].join("\n"),
    );
    expect(entries[0]!.owner).toBe("");
    expect(previousImage(entries, "app", OWNER)).toBeUndefined(); // one version of this stack only
    expect(previousImage(entries, "app", earlier)).toEqual({ current: D2, previous: D3 });
    expect(previousImage(entries, "app", "")).toBeUndefined(); // no owner on the host: nothing is known to be ours
  });
});

describe("npm run deploy --record: the stack file in git is the record of what runs", () => {
  it("commits the stack file alone, with what was deployed, and nothing when it is already recorded", () => {
    const repo = mkdtempSync(join(tmpdir(), "permacoop-record-"));
    try {
      const git = (...args: string[]) => execFileSync("git", args, { cwd: repo, encoding: "utf8" });
      git("init", "--quiet");
      git("config", "user.email", "ci@example.org");
      git("config", "user.name", "ci");
      writeFileSync(join(repo, "Pulumi.prod.yaml"), "config: {}\n");
      writeFileSync(join(repo, "other.txt"), "a\n");
      git("add", ".");
      git("commit", "--quiet", "-m", "init");
      writeFileSync(join(repo, "Pulumi.prod.yaml"), `config:\n  image: ${D2}\n`);
      writeFileSync(join(repo, "other.txt"), "changed, not ours to commit\n");
      const record = recordCommit("prod", [{ service: "app", to: D2 }]);
      expect(record).toEqual({ files: ["Pulumi.prod.yaml"], message: `deploy prod: app=${D2}` });
      commitRecord(repo, record);
      expect(git("log", "-1", "--format=%s")).toBe(`deploy prod: app=${D2}\n`);
      expect(git("show", "--name-only", "--format=", "HEAD").trim()).toBe("Pulumi.prod.yaml");
      expect(git("status", "--porcelain")).toBe(" M other.txt\n");
      commitRecord(repo, record); // nothing new: no empty commit
      expect(git("rev-list", "--count", "HEAD")).toBe("2\n");
    } finally {
      rmSync(repo, { recursive: true, force: true });
    }
  });
});
