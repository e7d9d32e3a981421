/**
 * Maintenance mode (`npm run maintenance`): the edge answers 503 with a page, and `Retry-After`,
 * for every route but the services' health paths and ACME challenges.
 *
 * Its two files live in the edge's configuration volume, in a directory of their own, apart from
 * the configuration `up` renders: a rollout (which never touches the edge), an edge restart or
 * recreation and an `up` that re-renders the routes all leave them as they are. The rendered
 * configuration always includes the flag file by a glob (nothing when it is absent), so turning
 * maintenance on or off is a file and a graceful reload, never a rollout.
 */

/** The maintenance directory, in the edge container (inside the configuration volume, not read by `conf.d/*.conf`). */
export const MAINTENANCE_DIR = "/etc/nginx/conf.d/maintenance";
/** Present while maintenance is on: the server-level settings below. */
export const MAINTENANCE_FLAG_FILE = `${MAINTENANCE_DIR}/on.conf`;
/** The page answered with the 503. */
export const MAINTENANCE_PAGE_FILE = `${MAINTENANCE_DIR}/page.html`;
/** The internal URI the edge serves the page under (never reachable from outside). */
export const MAINTENANCE_PAGE_URI = "/.permacoop/maintenance.html";
/** nginx variables: set in the flag file, empty otherwise. */
export const MAINTENANCE_VARIABLES = { on: "$permacoop_maintenance", retryAfter: "$permacoop_retry_after", closed: "$permacoop_closed" } as const;

/** Default `Retry-After`, in seconds. */
export const DEFAULT_RETRY_AFTER_SECONDS = 600;
/** Bounds of `--retry-after` (one day: a client told more than that forgets it). */
export const RETRY_AFTER_RANGE = { min: 1, max: 86_400 } as const;
/** Bound of `--message` (a page, not a document). */
export const MESSAGE_MAX_LENGTH = 2000;
/** Bound of a page given with `--page`. */
export const PAGE_MAX_BYTES = 512 * 1024;

export interface MaintenanceFlagArgs {
  /** Seconds sent in `Retry-After`. */
  readonly retryAfterSeconds: number;
  /** When maintenance started (the status shows it). */
  readonly since: Date;
  /** Who started it (the status shows it). */
  readonly by: string;
}

/** The flag file: who and since when (a comment `ops status` reads), and the two settings. */
export function renderMaintenanceFlag(args: MaintenanceFlagArgs): string {
  const seconds = args.retryAfterSeconds;
  if (!Number.isInteger(seconds) || seconds < RETRY_AFTER_RANGE.min || seconds > RETRY_AFTER_RANGE.max)
    throw new Error(`renderMaintenanceFlag: retryAfterSeconds must be an integer from ${RETRY_AFTER_RANGE.min} to ${RETRY_AFTER_RANGE.max}`);
  // The comment is one line of printable text: nothing in it can end it.
  const by = args.by.replace(/[^\x20-\x7e]/g, "?");
  return [
    `# maintenance on since ${args.since.toISOString()} by ${by}; Retry-After ${seconds}`,
    `set ${MAINTENANCE_VARIABLES.on} 1;`,
    `set ${MAINTENANCE_VARIABLES.retryAfter} ${seconds};`,
    "",
  ].join("\n");
}

/** What `ops status` says of a flag file's content (empty: maintenance is off). */
export function describeMaintenanceFlag(flag: string): string {
  const header = /^# maintenance (on since \S+ by .*); Retry-After (\d+)$/m.exec(flag);
  if (header) return `maintenance: ${header[1]} (Retry-After ${header[2]} s)`;
  return flag.trim() === "" ? "maintenance: off" : "maintenance: on";
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);
}

/** The default page, with the operator's message (plain text, escaped; blank lines make paragraphs). */
export function renderMaintenancePage(message: string): string {
  if (message.length > MESSAGE_MAX_LENGTH) throw new Error(`renderMaintenancePage: a message has at most ${MESSAGE_MAX_LENGTH} characters`);
  const paragraphs = message
    .split(/\n\s*\n/)
    .map((p) => p.trim())
    .filter(Boolean)
    .map((p) => `<p>${escapeHtml(p)}</p>`);
  return [
    "<!doctype html>",
    '<html lang="en">',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    "<title>Down for maintenance</title>",
    "<style>body{font-family:system-ui,sans-serif;max-width:40rem;margin:4rem auto;padding:0 1rem;line-height:1.5;color:#222}</style>",
    "<h1>Down for maintenance</h1>",
    ...(paragraphs.length ? paragraphs : ["<p>We will be back shortly.</p>"]),
    "</html>",
    "",
  ].join("\n");
}

/** The public URI of a service's health path through its route (`undefined` when the route does not reach it). */
export function publicHealthPath(route: { readonly prefix: string; readonly stripPrefix?: boolean }, healthPath: string): string | undefined {
  if (route.stripPrefix) return `${route.prefix}${healthPath.replace(/^\//, "")}`;
  return healthPath.startsWith(route.prefix) ? healthPath : undefined;
}
