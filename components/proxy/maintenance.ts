/**
 * Maintenance mode (`npm run maintenance`): the edge answers 503 with a page, and `Retry-After`,
 * for every route but the services' health paths and ACME challenges.
 *
 * Its files live in the edge's configuration volume, in a directory of their own, apart from the
 * configuration `up` renders: a rollout (which never touches the edge), an edge restart or
 * recreation and an `up` that re-renders the routes all leave them as they are. Turning it on or
 * off creates or removes a flag file the edge tests at each request (through its open file cache:
 * within a second): no reload, so no keep-alive connection is closed under the clients' feet. Only
 * a `Retry-After` other than the one in force changes the settings file, which takes a reload.
 */

/** The maintenance directory, in the edge container (inside the configuration volume, not read by `conf.d/*.conf`). */
export const MAINTENANCE_DIR = "/etc/nginx/conf.d/maintenance";
/** Present while maintenance is on; one line says since when, by whom, and the Retry-After (`ops status`). */
export const MAINTENANCE_FLAG_FILE = `${MAINTENANCE_DIR}/on`;
/** The settings nginx loads at its (re)load: the Retry-After. */
export const MAINTENANCE_SETTINGS_FILE = `${MAINTENANCE_DIR}/settings.conf`;
/** The page answered with the 503. */
export const MAINTENANCE_PAGE_FILE = `${MAINTENANCE_DIR}/page.html`;
/** The internal URI the edge serves the page under (never reachable from outside). */
export const MAINTENANCE_PAGE_URI = "/.permacoop/maintenance.html";
/** nginx variables: whether maintenance applies to the request's URI (not a health path), whether it is closed, the Retry-After. */
export const MAINTENANCE_VARIABLES = { applies: "$permacoop_maintenance_applies", closed: "$permacoop_closed", retryAfter: "$permacoop_retry_after" } as const;

/** Default `Retry-After`, in seconds (the rendered configuration's: no reload). */
export const DEFAULT_RETRY_AFTER_SECONDS = 600;
/** Bounds of `--retry-after` (one day: a client told more than that forgets it). */
export const RETRY_AFTER_RANGE = { min: 1, max: 86_400 } as const;
/** Bound of `--message` (a page, not a document). */
export const MESSAGE_MAX_LENGTH = 2000;
/** Bound of a page given with `--page`. */
export const PAGE_MAX_BYTES = 512 * 1024;

/** The settings file: the Retry-After sent with the page. */
export function renderMaintenanceSettings(retryAfterSeconds: number): string {
  if (!Number.isInteger(retryAfterSeconds) || retryAfterSeconds < RETRY_AFTER_RANGE.min || retryAfterSeconds > RETRY_AFTER_RANGE.max)
    throw new Error(`renderMaintenanceSettings: retryAfterSeconds must be an integer from ${RETRY_AFTER_RANGE.min} to ${RETRY_AFTER_RANGE.max}`);
  return `set ${MAINTENANCE_VARIABLES.retryAfter} ${retryAfterSeconds};\n`;
}

/** What `ops status` says of the flag file's content (the host writes "since <time> by <actor>; Retry-After <n>"; empty: off). */
export function describeMaintenanceFlag(flag: string): string {
  const line = flag.trim();
  return line === "" ? "maintenance: off" : `maintenance: on ${line.replace(/; Retry-After (\d+)$/, " (Retry-After $1 s)")}`;
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
