import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse as parseYaml } from "yaml";
import {
  DEFAULT_EXPIRY_DAYS,
  expiredReviewStacks,
  parseExpireArgs,
  checkPulumiEnv,
  imageEnvName,
  loadReviewTemplate,
  parsePrNumber,
  parseReviewArgs,
  parseReviewTemplate,
  renderStackFile,
  reviewSecrets,
  reviewStackConfig,
  reviewStackName,
  secretEnvName,
} from "../../../cli/review";
import { parseStackConfig } from "../../../components/config/load";
import { PROJECT_DIR } from "../../support/stackFiles";

const template = loadReviewTemplate();
const projectConfig = Object.fromEntries(
  Object.entries((parseYaml(readFileSync(join(PROJECT_DIR, "Pulumi.yaml"), "utf8")) as { config: Record<string, { value: unknown }> }).config).map(([k, v]) => [
    k,
    v.value,
  ]),
);
const DIGEST = "ghcr.io/fairnesscoop/permacoop@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

describe("review stack config", () => {
  const review = reviewStackConfig(42, template, { projectConfig });

  it("names the stack and the hostname after the PR", () => {
    expect(review.stack).toBe("review-pr-42");
    expect(review.hostname).toBe("pr-42.review.fairness.coop");
    expect(review.url).toBe("https://pr-42.review.fairness.coop");
    expect(review.config["permacoop:dns"]).toMatchObject({ provider: "scaleway", zone: "fairness.coop", hostnames: ["pr-42.review.fairness.coop"] });
  });

  it("is a small VM with its own unprotected container database and TLS, valid for the program's loader", () => {
    const raw = Object.fromEntries(
      Object.entries({ ...projectConfig, ...review.config }).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)] as const),
    );
    for (const key of review.secretKeys) raw[`permacoop:${key}`] = "x";
    const { config } = parseStackConfig(review.stack, raw, new Set(review.secretKeys.map((k) => `permacoop:${k}`)));
    expect(config.host).toMatchObject({ kind: "scaleway-vm", type: "DEV1-S" });
    expect(config.database).toMatchObject({ kind: "container", protect: false });
    expect(config.tls.enabled).toBe(true);
    expect(config.services.map((s) => s.image)).toEqual(["ghcr.io/fairnesscoop/permacoop:main"]);
  });

  it("lists the secrets the services need", () => {
    expect(review.secretKeys).toEqual(["calendarToken", "sessionSecret"]);
    expect(secretEnvName("calendarToken")).toBe("PERMACOOP_SECRET_CALENDAR_TOKEN");
  });

  it("does not change the template it was given", () => {
    reviewStackConfig(7, template, { images: { app: DIGEST } });
    expect(template.config["permacoop:dns"]).not.toHaveProperty("hostnames");
    expect((template.config["permacoop:services"] as { image: string }[])[0]!.image).toBe("ghcr.io/fairnesscoop/permacoop:main");
  });

  it("takes images from --image first, then PERMACOOP_IMAGE_<SERVICE>, then the template", () => {
    const fromEnv = reviewStackConfig(42, template, { env: { [imageEnvName("app")]: "ghcr.io/fairnesscoop/permacoop:pr-42" } });
    expect((fromEnv.config["permacoop:services"] as { image: string }[])[0]!.image).toBe("ghcr.io/fairnesscoop/permacoop:pr-42");
    const fromFlag = reviewStackConfig(42, template, { images: { app: DIGEST }, env: { PERMACOOP_IMAGE_APP: "ghcr.io/fairnesscoop/permacoop:pr-42" } });
    expect((fromFlag.config["permacoop:services"] as { image: string }[])[0]!.image).toBe(DIGEST);
    const emptyEnv = reviewStackConfig(42, template, { env: { PERMACOOP_IMAGE_APP: "" } });
    expect((emptyEnv.config["permacoop:services"] as { image: string }[])[0]!.image).toBe("ghcr.io/fairnesscoop/permacoop:main");
  });

  it("refuses an image for a service the template does not have", () => {
    expect(() => reviewStackConfig(42, template, { images: { web: DIGEST } })).toThrow(
      /--image web=…: no service named "web" in the template \(services: app\)/,
    );
  });

  it("refuses an invalid image reference with the contract's message, naming the key", () => {
    expect(() => reviewStackConfig(42, template, { images: { app: "not an image" } })).toThrow(
      /invalid stack[\s\S]*permacoop:services\[0\]\.image: expected an image reference/,
    );
  });

  it("refuses a template whose dns zone does not contain the review domain", () => {
    const bad = { ...template, config: { ...template.config, "permacoop:dns": { provider: "scaleway", zone: "example.org" } } };
    expect(() => reviewStackConfig(42, bad)).toThrow(/permacoop:dns\.hostnames\[0\]: expected a hostname inside zone example\.org/);
  });
});

describe("PR numbers and arguments", () => {
  it.each(["0", "-1", "4.2", "abc", "042", "", "1e3", "9999999999"])("refuses %j with a clear error", (text) => {
    expect(() => parsePrNumber(text)).toThrow(/expected a pull request number \(a positive whole number such as 42\)/);
  });

  it("refuses a missing number", () => {
    expect(() => parseReviewArgs([])).toThrow(/found nothing/);
    expect(() => reviewStackConfig(0, template)).toThrow(/positive whole number/);
  });

  it("parses the actions and images", () => {
    expect(parseReviewArgs(["42"])).toEqual({ pr: 42, action: "up", images: {}, source: "infra" });
    expect(parseReviewArgs(["42", "--preview", "--image", `app=${DIGEST}`])).toEqual({ pr: 42, action: "preview", images: { app: DIGEST }, source: "infra" });
    expect(parseReviewArgs(["--destroy", "7"])).toEqual({ pr: 7, action: "destroy", images: {}, source: "infra" });
    expect(parseReviewArgs(["7", "--app", "--image", `app=${DIGEST}`])).toEqual({ pr: 7, action: "up", images: { app: DIGEST }, source: "app" });
    expect(parseReviewArgs([`--image=app=${DIGEST}`, "3"]).images).toEqual({ app: DIGEST });
  });

  it("refuses contradictory or unknown options", () => {
    expect(() => parseReviewArgs(["42", "--preview", "--destroy"])).toThrow(/exclude each other/);
    expect(() => parseReviewArgs(["42", "--yes"])).toThrow(/unknown option --yes/);
    expect(() => parseReviewArgs(["42", "43"])).toThrow(/one pull request number/);
    expect(() => parseReviewArgs(["42", "--image", "app"])).toThrow(/expected --image <service>=<image ref>/);
    expect(() => parseReviewArgs(["42", "--destroy", "--image", `app=${DIGEST}`])).toThrow(/no meaning with --destroy/);
  });
});

describe("secrets and environment", () => {
  const review = reviewStackConfig(42, template);

  it("reads every secret from PERMACOOP_SECRET_<KEY>", () => {
    expect(reviewSecrets(review, { PERMACOOP_SECRET_CALENDAR_TOKEN: "c", PERMACOOP_SECRET_SESSION_SECRET: "s" })).toEqual({
      calendarToken: "c",
      sessionSecret: "s",
    });
  });

  it("names every missing secret variable in one error", () => {
    expect(() => reviewSecrets(review, { PERMACOOP_SECRET_CALENDAR_TOKEN: "c" })).toThrow(
      /1 secret\(s\) missing for stack review-pr-42; nothing was changed[\s\S]*PERMACOOP_SECRET_SESSION_SECRET[\s\S]*permacoop:sessionSecret/,
    );
    const error = (() => {
      try {
        reviewSecrets(review, {});
      } catch (e) {
        return (e as Error).message;
      }
      return "";
    })();
    expect(error).toContain("PERMACOOP_SECRET_CALENDAR_TOKEN");
    expect(error).toContain("PERMACOOP_SECRET_SESSION_SECRET");
  });

  it("requires the backend and passphrase from the environment", () => {
    expect(() => checkPulumiEnv({})).toThrow(/PULUMI_BACKEND_URL[\s\S]*PULUMI_CONFIG_PASSPHRASE/);
    expect(() => checkPulumiEnv({ PULUMI_BACKEND_URL: "s3://b", PULUMI_CONFIG_PASSPHRASE_FILE: "/p" })).not.toThrow();
  });
});

describe("the template and the stack file", () => {
  it("refuses hostnames in the template (the script sets them)", () => {
    const text = readFileSync(join(PROJECT_DIR, "cli", "review-template.yaml"), "utf8").replace(
      "provider: scaleway",
      "provider: scaleway\n    hostnames: [a.fairness.coop]",
    );
    expect(() => parseReviewTemplate(text)).toThrow(/permacoop:dns\.hostnames: expected nothing/);
    expect(() => parseReviewTemplate("reviewDomain: Not A Domain\nconfig: {}\n")).toThrow(/reviewDomain: expected a lower-case DNS name/);
  });

  it("keeps the encryption salt pulumi wrote and drops the previous config", () => {
    const review = reviewStackConfig(42, template);
    const previous = "config:\n  permacoop:calendarToken:\n    secure: v1:old\nencryptionsalt: v1:salt\n";
    const file = parseYaml(renderStackFile(review, 42, previous)) as Record<string, unknown>;
    expect(file.encryptionsalt).toBe("v1:salt");
    expect(file.config).toEqual(review.config);
    expect(renderStackFile(review, 42, undefined)).toMatch(/^# Generated by `npm run review -- 42`/);
  });
});

describe("npm run review -- --expire", () => {
  it("takes --days N (default 2) and nothing else", () => {
    expect(parseExpireArgs(["--expire"])).toEqual({ days: DEFAULT_EXPIRY_DAYS });
    expect(DEFAULT_EXPIRY_DAYS).toBe(2);
    expect(parseExpireArgs(["--expire", "--days", "7"])).toEqual({ days: 7 });
    expect(() => parseExpireArgs(["--expire", "--days", "0"])).toThrow(/expected --days <a whole number of days ≥ 1>; found "0"/);
    expect(() => parseExpireArgs(["--expire", "--days"])).toThrow(/found ""/);
    expect(() => parseExpireArgs(["--expire", "42"])).toThrow(/--expire takes only --days; found 42/);
  });

  it("selects the review stacks last updated more than N days ago, never one being updated or another stack", () => {
    const now = new Date("2026-12-02T12:00:00Z");
    const list = [
      { name: "review-pr-1", lastUpdate: "2026-11-29T12:00:00.000Z" }, // 3 days: expired
      { name: "fairnesscoop/permacoop-infra/review-pr-2", lastUpdate: "2026-11-30T11:59:00.000Z" }, // 2 days and a minute
      { name: "review-pr-3", lastUpdate: "2026-11-30T12:01:00.000Z" }, // just under 2 days: stays
      { name: "review-pr-4", lastUpdate: "2026-11-01T00:00:00.000Z", updateInProgress: true }, // being updated: stays
      { name: "review-pr-5" }, // no update recorded: stays
      { name: "prod", lastUpdate: "2020-01-01T00:00:00.000Z" }, // not a review stack
      { name: "review-pr-6-old", lastUpdate: "2020-01-01T00:00:00.000Z" },
    ];
    expect(expiredReviewStacks([...list, { name: "review-app-pr-9", lastUpdate: "2026-11-01T00:00:00.000Z" }], now, 2)).toEqual([
      { pr: 1, source: "infra", name: "review-pr-1", lastUpdate: "2026-11-29T12:00:00.000Z" },
      { pr: 2, source: "infra", name: "fairnesscoop/permacoop-infra/review-pr-2", lastUpdate: "2026-11-30T11:59:00.000Z" },
      { pr: 9, source: "app", name: "review-app-pr-9", lastUpdate: "2026-11-01T00:00:00.000Z" },
    ]);
    expect(expiredReviewStacks(list, now, 7).map((s) => s.pr)).toEqual([]);
  });
});

describe("review environments of the app repository's pull requests", () => {
  it("are named and hosted apart from this repository's own (review-app-pr-<n>, app-pr-<n>.<domain>)", () => {
    const reviewTemplate = loadReviewTemplate();
    const own = reviewStackConfig(42, reviewTemplate, { images: { app: DIGEST } });
    const app = reviewStackConfig(42, reviewTemplate, { images: { app: DIGEST }, source: "app" });
    expect(own.stack).toBe("review-pr-42");
    expect(app.stack).toBe("review-app-pr-42");
    expect(app.hostname).toBe(`app-pr-42.${reviewTemplate.reviewDomain}`);
    expect(app.url).toBe(`https://app-pr-42.${reviewTemplate.reviewDomain}`);
    expect(reviewStackName(42, "app")).toBe("review-app-pr-42");
  });
});
