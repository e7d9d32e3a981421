/**
 * Review environments, one stack per pull request (`review-pr-<n>`), from cli/review-template.yaml:
 *   npm run review -- <pr> [--image <service>=<ref>]...   create or update the stack, then `pulumi up`
 *   npm run review -- <pr> --preview [--image …]          the same stack file, `pulumi preview` only: nothing changes
 *   npm run review -- <pr> --destroy                      destroy its resources, remove the stack and its stack file
 *   npm run review -- --expire [--days N]                 the same for every review stack with no update for N days (2)
 *   --app: the pull request is the app repository's (its CI dispatches here): stack review-app-pr-<n>,
 *   host app-pr-<n>.<domain>, apart from this repository's own review-pr-<n>
 * Images: `--image`, else PERMACOOP_IMAGE_<SERVICE>, else the template's. Secrets: PERMACOOP_SECRET_<KEY>
 * (`pulumi config set --secret` through stdin, never argv). State and passphrase: PULUMI_BACKEND_URL and
 * PULUMI_CONFIG_PASSPHRASE (or PULUMI_CONFIG_PASSPHRASE_FILE), from the environment only.
 */
import { spawnSync, SpawnSyncOptions } from "node:child_process";
import { appendFileSync, existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parse as parseYaml, stringify as stringifyYaml } from "yaml";
import { ConfigError, parseStackConfig } from "../components/config/load";
import { NAMESPACE } from "../components/config/schema";
import { pulumiCliEnv } from "./pulumi";
import { runMain } from "./args";

/** The template, in git. */
export const TEMPLATE_PATH = join(__dirname, "review-template.yaml");

const USAGE =
  "usage: npm run review -- <pr number> [--app] [--preview | --destroy] [--image <service>=<image ref>]...\n       npm run review -- --expire [--days N]";

/** Review environments with no update for this many days are destroyed by `--expire` (Heroku's review apps: two days). */
export const DEFAULT_EXPIRY_DAYS = 2;

export type ReviewAction = "up" | "preview" | "destroy";

/** Whose pull request: this repository's (`infra`, review-pr-<n>) or the app repository's (`app`, review-app-pr-<n>). */
export type ReviewSource = "infra" | "app";

export interface ReviewArgs {
  /** The pull request number. */
  readonly pr: number;
  /** `up` (default), `preview` (plan only) or `destroy`. */
  readonly action: ReviewAction;
  /** Images given with `--image <service>=<ref>`, by service name. */
  readonly images: Readonly<Record<string, string>>;
  /** `app` with `--app`; `infra` otherwise. */
  readonly source: ReviewSource;
}

/** The PR number as a positive whole number; anything else is a clear error. */
export function parsePrNumber(text: string | undefined): number {
  if (text === undefined || !/^[1-9][0-9]{0,8}$/.test(text)) {
    throw new Error(
      `review: expected a pull request number (a positive whole number such as 42); found ${text === undefined ? "nothing" : JSON.stringify(text)}.\n${USAGE}`,
    );
  }
  return Number(text);
}

/** Parses `<pr> [--preview|--destroy] [--image service=ref]...`. */
export function parseReviewArgs(argv: readonly string[]): ReviewArgs {
  let prText: string | undefined;
  let action: ReviewAction = "up";
  let source: ReviewSource = "infra";
  const images: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--app") {
      source = "app";
    } else if (arg === "--preview" || arg === "--destroy") {
      const wanted = arg === "--preview" ? "preview" : "destroy";
      if (action !== "up" && action !== wanted) throw new Error(`review: --preview and --destroy exclude each other.\n${USAGE}`);
      action = wanted;
    } else if (arg === "--image" || arg.startsWith("--image=")) {
      const spec = arg === "--image" ? argv[++i] : arg.slice("--image=".length);
      const match = spec === undefined ? null : /^([a-z][a-z0-9-]*)=(.+)$/.exec(spec);
      if (!match)
        throw new Error(
          `review: expected --image <service>=<image ref> (e.g. --image app=ghcr.io/org/app@sha256:…); found ${JSON.stringify(spec ?? "")}.\n${USAGE}`,
        );
      images[match[1]!] = match[2]!;
    } else if (arg.startsWith("-")) {
      throw new Error(`review: unknown option ${arg}.\n${USAGE}`);
    } else if (prText !== undefined) {
      throw new Error(`review: expected one pull request number; found ${prText} and ${arg}.\n${USAGE}`);
    } else {
      prText = arg;
    }
  }
  const pr = parsePrNumber(prText);
  if (action === "destroy" && Object.keys(images).length > 0) throw new Error(`review: --image has no meaning with --destroy.\n${USAGE}`);
  return { pr, action, images, source };
}

/** Parses `--expire [--days N]`: the number of days without an update after which a review stack goes. */
export function parseExpireArgs(argv: readonly string[]): { days: number } {
  const rest = argv.filter((arg) => arg !== "--expire");
  let days = DEFAULT_EXPIRY_DAYS;
  const at = rest.indexOf("--days");
  if (at >= 0) {
    const text = rest[at + 1];
    if (text === undefined || !/^[1-9][0-9]{0,3}$/.test(text))
      throw new Error(`review: expected --days <a whole number of days ≥ 1>; found ${JSON.stringify(text ?? "")}.\n${USAGE}`);
    days = Number(text);
    rest.splice(at, 2);
  }
  if (rest.length > 0) throw new Error(`review: --expire takes only --days; found ${rest.join(" ")}.\n${USAGE}`);
  return { days };
}

/** An entry of `pulumi stack ls --json`. */
export interface StackListing {
  readonly name: string;
  readonly lastUpdate?: string;
  readonly updateInProgress?: boolean;
}

/**
 * The review stacks (`review-pr-<n>`, bare or fully qualified) whose last update is more than
 * `days` days before `now`. One being updated right now, or with no update recorded, stays.
 */
export function expiredReviewStacks(
  list: readonly StackListing[],
  now: Date,
  days: number,
): { pr: number; source: ReviewSource; name: string; lastUpdate: string }[] {
  const cutoff = now.getTime() - days * 24 * 3600 * 1000;
  return list.flatMap((stack) => {
    const match = /(?:^|\/)review-(app-)?pr-([1-9][0-9]{0,8})$/.exec(stack.name);
    if (!match || stack.updateInProgress || !stack.lastUpdate) return [];
    const last = Date.parse(stack.lastUpdate);
    const source: ReviewSource = match[1] ? "app" : "infra";
    return Number.isFinite(last) && last < cutoff ? [{ pr: Number(match[2]), source, name: stack.name, lastUpdate: stack.lastUpdate }] : [];
  });
}

/** cli/review-template.yaml: the review domain and a stack configuration without hostnames. */
export interface ReviewTemplate {
  /** Domain the review hostnames live under: `pr-<n>.<reviewDomain>`. */
  readonly reviewDomain: string;
  /** A stack file's `config:` map (provider keys and `permacoop:*` keys). */
  readonly config: Readonly<Record<string, unknown>>;
}

/** Reads and checks the shape of the template (the stack contract itself is checked on the rendered config). */
export function parseReviewTemplate(text: string, source = "cli/review-template.yaml"): ReviewTemplate {
  const doc = parseYaml(text) as { reviewDomain?: unknown; config?: unknown } | null;
  if (!doc || typeof doc.reviewDomain !== "string" || !/^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/.test(doc.reviewDomain)) {
    throw new Error(`${source}: reviewDomain: expected a lower-case DNS name such as review.example.org; found ${JSON.stringify(doc?.reviewDomain)}`);
  }
  if (!doc.config || typeof doc.config !== "object" || Array.isArray(doc.config)) throw new Error(`${source}: config: expected a map of stack config keys`);
  const dns = (doc.config as Record<string, unknown>)[`${NAMESPACE}:dns`] as { hostnames?: unknown } | undefined;
  if (dns?.hostnames !== undefined) {
    throw new Error(`${source}: ${NAMESPACE}:dns.hostnames: expected nothing (npm run review sets it to pr-<n>.${doc.reviewDomain}); remove it`);
  }
  return { reviewDomain: doc.reviewDomain, config: doc.config as Record<string, unknown> };
}

export function loadReviewTemplate(path = TEMPLATE_PATH): ReviewTemplate {
  return parseReviewTemplate(readFileSync(path, "utf8"), path);
}

/** `calendarToken` → `CALENDAR_TOKEN`, `my-api` → `MY_API`. */
function upperSnake(name: string): string {
  return name
    .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
    .replace(/-/g, "_")
    .toUpperCase();
}

/** Environment variable holding the value of secret `permacoop:<key>`. */
export function secretEnvName(key: string): string {
  return `PERMACOOP_SECRET_${upperSnake(key)}`;
}

/** Environment variable holding the image of a service. */
export function imageEnvName(service: string): string {
  return `PERMACOOP_IMAGE_${upperSnake(service)}`;
}

export function reviewStackName(pr: number, source: ReviewSource = "infra"): string {
  return `review-${source === "app" ? "app-" : ""}pr-${pr}`;
}

/** A rendered review stack, checked against the config contract. */
export interface ReviewStack {
  readonly stack: string;
  readonly hostname: string;
  readonly url: string;
  /** The stack file's `config:` map, without secrets. */
  readonly config: Record<string, unknown>;
  /** Secret keys (without namespace) the services need, set with --secret. */
  readonly secretKeys: readonly string[];
}

export interface ReviewStackOptions {
  /** Images from `--image`, by service name. */
  readonly images?: Readonly<Record<string, string>>;
  /** Environment read for PERMACOOP_IMAGE_<SERVICE>. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Project-level config defaults (Pulumi.yaml), which the program also sees. */
  readonly projectConfig?: Readonly<Record<string, unknown>>;
  /** Whose pull request. Default `infra`. */
  readonly source?: ReviewSource;
}

/**
 * The review stack of PR `pr`: name, hostname, and the stack file's config (template + hostname +
 * images), validated by the same loader as the program. Pure; throws one clear error.
 */
export function reviewStackConfig(pr: number, template: ReviewTemplate, options: ReviewStackOptions = {}): ReviewStack {
  if (!Number.isSafeInteger(pr) || pr < 1) throw new Error(`review: expected a pull request number (a positive whole number such as 42); found ${pr}`);
  const source = options.source ?? "infra";
  const stack = reviewStackName(pr, source);
  const hostname = `${source === "app" ? "app-" : ""}pr-${pr}.${template.reviewDomain}`;
  const config: Record<string, unknown> = structuredClone({ ...template.config });

  const dnsKey = `${NAMESPACE}:dns`;
  config[dnsKey] = { ...((config[dnsKey] as object | undefined) ?? {}), hostnames: [hostname] };

  const servicesKey = `${NAMESPACE}:services`;
  const services = (Array.isArray(config[servicesKey]) ? config[servicesKey] : []) as { name?: string; image?: string; secretEnv?: Record<string, string> }[];
  const names = services.map((s) => s.name);
  for (const service of Object.keys(options.images ?? {})) {
    if (!names.includes(service))
      throw new Error(`review: --image ${service}=…: no service named "${service}" in the template (services: ${names.join(", ")})`);
  }
  for (const service of services) {
    if (typeof service.name !== "string") continue; // the contract check below names it
    // An empty variable counts as unset (a workflow maps `vars.X` that may not exist).
    const image = options.images?.[service.name] ?? (options.env?.[imageEnvName(service.name)] || undefined);
    if (image !== undefined) service.image = image;
  }

  const secretKeys = [...new Set(services.flatMap((s) => Object.values(s.secretEnv ?? {})))].sort();

  // The same check the program makes: the project defaults overlaid by the stack file, secrets as secrets.
  const merged = { ...(options.projectConfig ?? {}), ...config };
  const raw: Record<string, string> = Object.fromEntries(Object.entries(merged).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]));
  for (const key of secretKeys) raw[`${NAMESPACE}:${key}`] = "set-from-the-environment";
  try {
    parseStackConfig(stack, raw, new Set(secretKeys.map((k) => `${NAMESPACE}:${k}`)));
  } catch (error) {
    if (error instanceof ConfigError) {
      throw new Error(
        `review: the template renders an invalid stack (fix cli/review-template.yaml, or the --image / PERMACOOP_IMAGE_* given):\n${error.message}`,
      );
    }
    throw error;
  }
  const tls = (merged[`${NAMESPACE}:tls`] as { enabled?: boolean } | undefined)?.enabled ?? true;
  return { stack, hostname, url: `${tls ? "https" : "http"}://${hostname}`, config, secretKeys };
}

/** The secret values from PERMACOOP_SECRET_<KEY>; one error naming every missing variable. */
export function reviewSecrets(stack: ReviewStack, env: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const missing = stack.secretKeys.filter((key) => !env[secretEnvName(key)]);
  if (missing.length > 0) {
    const lines = missing.map((key) => `  ${secretEnvName(key)}   (value of ${NAMESPACE}:${key}, which a service's secretEnv refers to)`);
    throw new Error(
      `review: ${missing.length} secret(s) missing for stack ${stack.stack}; nothing was changed. Set in the environment:\n${lines.join("\n")}\n` +
        "  (in GitHub Actions: repository secrets of the same names, mapped in .github/workflows/review.yml)",
    );
  }
  return Object.fromEntries(stack.secretKeys.map((key) => [key, env[secretEnvName(key)] as string]));
}

/** Backend and passphrase must come from the environment: never a default that would hide a typo. */
export function checkPulumiEnv(env: Readonly<Record<string, string | undefined>>): void {
  const problems: string[] = [];
  if (!env.PULUMI_BACKEND_URL)
    problems.push("  PULUMI_BACKEND_URL   where the state lives, e.g. s3://<bucket>?endpoint=s3.fr-par.scw.cloud&region=fr-par&s3ForcePathStyle=true");
  if (env.PULUMI_CONFIG_PASSPHRASE === undefined && !env.PULUMI_CONFIG_PASSPHRASE_FILE)
    problems.push("  PULUMI_CONFIG_PASSPHRASE (or PULUMI_CONFIG_PASSPHRASE_FILE)   the review stacks' passphrase");
  if (problems.length > 0) throw new Error(`review: missing in the environment; nothing was changed:\n${problems.join("\n")}`);
}

/** The stack file: the rendered config, keeping what `pulumi stack init` wrote (encryption salt). */
export function renderStackFile(stack: ReviewStack, pr: number, existing: string | undefined): string {
  const kept: Record<string, unknown> = { ...((existing ? parseYaml(existing) : null) ?? {}) };
  delete kept.config; // secrets are set again from the environment on every run
  const header = `# Generated by \`npm run review -- ${pr}\` from cli/review-template.yaml (git-ignored): edit the template, not this file.\n`;
  return header + stringifyYaml({ config: stack.config, ...kept }, { lineWidth: 0 });
}

// ------------------------------------------------------------------------------------------ CLI

function log(message: string): void {
  process.stderr.write(`[review] ${message}\n`);
}

/** Runs the Pulumi CLI; its output streams through unless `capture`. */
function pulumi(args: readonly string[], env: NodeJS.ProcessEnv, options: { input?: string; capture?: boolean } = {}): string {
  const color = process.stdout.isTTY ? [] : ["--color", "never"];
  const spawnOptions: SpawnSyncOptions = {
    cwd: process.cwd(),
    env,
    encoding: "utf8",
    input: options.input,
    stdio: [options.input === undefined ? "ignore" : "pipe", options.capture ? "pipe" : "inherit", options.capture ? "pipe" : "inherit"],
  };
  const result = spawnSync("pulumi", [...args, "--non-interactive", ...color], spawnOptions);
  if (result.error) throw new Error(`review: could not run pulumi: ${result.error.message}`);
  if (result.status !== 0) {
    const detail = options.capture ? `\n${String(result.stderr).trim()}` : "";
    throw new Error(`review: pulumi ${args[0]} ${args[1] ?? ""} failed (exit ${result.status})${detail}`);
  }
  return String(result.stdout ?? "");
}

function stackList(env: NodeJS.ProcessEnv): StackListing[] {
  return JSON.parse(pulumi(["stack", "ls", "--json"], env, { capture: true }) || "[]") as StackListing[];
}

function stackExists(stack: string, env: NodeJS.ProcessEnv): boolean {
  return stackList(env).some((s) => s.name === stack || s.name.endsWith(`/${stack}`));
}

/** Destroys a review environment's resources, removes its stack and its stack file. */
function destroyReview(pr: number, source: ReviewSource): void {
  const stackName = reviewStackName(pr, source);
  const stackFile = join(process.cwd(), `Pulumi.${stackName}.yaml`);
  const env = pulumiCliEnv(stackName);
  if (!stackExists(stackName, env)) {
    rmSync(stackFile, { force: true });
    log(`no stack ${stackName}: nothing to destroy`);
    return;
  }
  // destroy reads the secrets provider from the state when the stack file is gone (a fresh CI checkout).
  pulumi(["destroy", "--yes", "--skip-preview", "--remove", "--stack", stackName], env);
  rmSync(stackFile, { force: true });
  log(`stack ${stackName} destroyed and removed`);
}

/** `--expire`: every review environment with no update for `days` days goes, as with `--destroy`. */
function expire(days: number): void {
  checkPulumiEnv(process.env);
  const expired = expiredReviewStacks(stackList(pulumiCliEnv("review")), new Date(), days);
  if (expired.length === 0) log(`no review stack without an update for ${days} day(s)`);
  for (const stack of expired) {
    log(`${stack.name}: last update ${stack.lastUpdate}, more than ${days} day(s) ago: destroying it`);
    destroyReview(stack.pr, stack.source);
  }
}

function main(): void {
  if (process.argv.includes("--expire")) return expire(parseExpireArgs(process.argv.slice(2)).days);
  const args = parseReviewArgs(process.argv.slice(2));
  checkPulumiEnv(process.env);
  const stackName = reviewStackName(args.pr, args.source);
  const stackFile = join(process.cwd(), `Pulumi.${stackName}.yaml`);

  if (args.action === "destroy") return destroyReview(args.pr, args.source);

  // Everything is checked before the first pulumi command: a bad template, image or missing secret changes nothing.
  const project = parseYaml(readFileSync(join(process.cwd(), "Pulumi.yaml"), "utf8")) as { config?: Record<string, { value?: unknown }> };
  const projectConfig = Object.fromEntries(Object.entries(project.config ?? {}).flatMap(([k, spec]) => (spec.value === undefined ? [] : [[k, spec.value]])));
  const review = reviewStackConfig(args.pr, loadReviewTemplate(), { images: args.images, env: process.env, projectConfig, source: args.source });
  const secrets = reviewSecrets(review, process.env);

  const env: NodeJS.ProcessEnv = {
    ...pulumiCliEnv(stackName),
    // A fresh checkout has no stack file: reuse the encryption salt recorded in the state.
    PULUMI_FALLBACK_TO_STATE_SECRETS_MANAGER: "true",
  };
  pulumi(["stack", "select", "--create", "--secrets-provider", "passphrase", stackName], env);
  writeFileSync(stackFile, renderStackFile(review, args.pr, existsSync(stackFile) ? readFileSync(stackFile, "utf8") : undefined));
  for (const [key, value] of Object.entries(secrets)) {
    pulumi(["config", "set", "--secret", "--raw", "--stack", stackName, `${NAMESPACE}:${key}`], env, { input: value, capture: true });
  }
  log(`stack ${stackName}: ${review.url} (${review.secretKeys.length} secret(s) set from the environment)`);

  if (args.action === "preview") {
    pulumi(["preview", "--stack", stackName], env);
    return;
  }
  pulumi(["up", "--yes", "--skip-preview", "--stack", stackName], env);
  const url = pulumi(["stack", "output", "url", "--stack", stackName], env, { capture: true }).trim();
  log(`serving at ${url}`);
  if (process.env.GITHUB_OUTPUT) appendFileSync(process.env.GITHUB_OUTPUT, `url=${url}\n`);
}

runMain(module, main);
