/**
 * Maintenance mode of an environment's edge (components/proxy/maintenance.ts):
 *   npm run maintenance -- -s <stack> on [--message <text> | --page <file.html>] [--retry-after <seconds>]
 *   npm run maintenance -- -s <stack> off
 *   npm run maintenance -- -s <stack> status
 * On, every route answers 503 with the page and `Retry-After` (default 600 s), but the services'
 * health paths and ACME challenges; no rollout, no restart. It stays on through rollouts, edge
 * restarts and `pulumi up` until `off`. `on` again replaces the message. Docker hosts only.
 */
import { readFileSync, statSync } from "node:fs";
import {
  DEFAULT_RETRY_AFTER_SECONDS,
  describeMaintenanceFlag,
  MESSAGE_MAX_LENGTH,
  PAGE_MAX_BYTES,
  renderMaintenanceSettings,
  renderMaintenancePage,
  RETRY_AFTER_RANGE,
} from "../components/proxy/maintenance";
import { onEveryHost, readStack, runtimeAction } from "./host";
import { runMain, takeStack } from "./args";

const USAGE =
  "usage: npm run maintenance -- -s <stack> on [--message <text> | --page <file.html>] [--retry-after <seconds>]\n" +
  "       npm run maintenance -- -s <stack> off|status";

export type MaintenanceArgs =
  | { readonly action: "on"; readonly stack: string; readonly retryAfterSeconds: number; readonly message?: string; readonly pageFile?: string }
  | { readonly action: "off" | "status"; readonly stack: string };

/** Removes `name <value>` from `rest`; its value, or undefined when absent. */
function takeOption(rest: string[], name: string): string | undefined {
  const at = rest.indexOf(name);
  if (at < 0) return undefined;
  const value = rest[at + 1];
  if (value === undefined) throw new Error(`${USAGE}\n(${name} needs a value)`);
  rest.splice(at, 2);
  return value;
}

/** Parses the arguments of `npm run maintenance`; throws the usage with what is wrong. */
export function parseMaintenanceArgs(argv: readonly string[]): MaintenanceArgs {
  const rest = [...argv];
  const stack = takeStack(rest, USAGE);
  const message = takeOption(rest, "--message");
  const pageFile = takeOption(rest, "--page");
  const retryAfter = takeOption(rest, "--retry-after");
  const action = rest.shift();
  if (action !== "on" && action !== "off" && action !== "status") throw new Error(`${USAGE}\n(expected on, off or status, found ${action ?? "nothing"})`);
  if (rest.length > 0) throw new Error(`${USAGE}\n(unexpected: ${rest.join(" ")})`);
  if (action !== "on") {
    if (message !== undefined || pageFile !== undefined || retryAfter !== undefined)
      throw new Error(`${USAGE}\n(--message, --page and --retry-after go with on)`);
    return { action, stack };
  }
  if (message !== undefined && pageFile !== undefined) throw new Error(`${USAGE}\n(--message or --page, not both: a page carries its own message)`);
  if (message !== undefined && message.length > MESSAGE_MAX_LENGTH)
    throw new Error(
      `--message: expected at most ${MESSAGE_MAX_LENGTH} characters, found ${message.length} (put a longer text in a page: --page maintenance.html)`,
    );
  const retryAfterSeconds = retryAfter === undefined ? DEFAULT_RETRY_AFTER_SECONDS : Number(retryAfter);
  if (!/^\d+$/.test(retryAfter ?? "0") || retryAfterSeconds < RETRY_AFTER_RANGE.min || retryAfterSeconds > RETRY_AFTER_RANGE.max)
    throw new Error(
      `--retry-after: expected whole seconds from ${RETRY_AFTER_RANGE.min} to ${RETRY_AFTER_RANGE.max}, found ${retryAfter} (e.g. --retry-after ${DEFAULT_RETRY_AFTER_SECONDS})`,
    );
  return { action, stack, retryAfterSeconds, ...(message !== undefined ? { message } : {}), ...(pageFile !== undefined ? { pageFile } : {}) };
}

/** The page to serve: the operator's file, or the default one with the message. */
export function maintenancePage(args: { readonly message?: string; readonly pageFile?: string }): string {
  if (args.pageFile === undefined) return renderMaintenancePage(args.message ?? "");
  const size = statSync(args.pageFile).size;
  if (size === 0 || size > PAGE_MAX_BYTES)
    throw new Error(`--page ${args.pageFile}: expected an HTML file of 1 byte to ${PAGE_MAX_BYTES / 1024} KiB, found ${size} bytes`);
  return readFileSync(args.pageFile, "utf8");
}

function main(): void {
  const args = parseMaintenanceArgs(process.argv.slice(2));
  const { config, secrets } = readStack(args.stack);
  if (config.host.kind === "scaleway-container")
    throw new Error(
      `maintenance: stack ${args.stack} runs on scaleway-container, which has no edge of ours to answer 503 (Scaleway routes to the containers): not supported there`,
    );
  // Every host behind the load balancer answers the same: one left open would serve a share of the requests.
  // Every host is tried, even after one failed (a lost host must not keep the others closed or
  // open); the command fails at the end, naming the hosts that did not follow.
  const run = (action: string, input?: string) => {
    const failed: number[] = [];
    const outputs = onEveryHost(config, ({ number }) => {
      const result = runtimeAction(args.stack, config, secrets, action, input);
      if (result.status !== 0 && failed.length === 0) process.exitCode = result.status;
      if (result.status !== 0) failed.push(number);
      return result.status === 0 ? result.stdout : undefined;
    });
    if (failed.length > 0) {
      const which = outputs.length > 1 ? `host${failed.length > 1 ? "s" : ""} ${failed.join(", ")} of ${outputs.length}` : "its host";
      process.stderr.write(
        `${args.stack}: maintenance ${action.replace(/^maintenance /, "")} failed on ${which} (the lines above say why): run it again once ${failed.length > 1 ? "they are" : "it is"} reachable\n`,
      );
    }
    return outputs;
  };
  // One line per host: `<stack>: …`, or `<stack> host <n>: …` when there are several.
  const status = () =>
    run("maintenance status")
      .map(
        (flag, i, all) =>
          `${args.stack}${all.length > 1 ? ` host ${i + 1}` : ""}: ${flag === undefined ? "unknown (unreachable)" : describeMaintenanceFlag(flag)}\n`,
      )
      .join("");
  switch (args.action) {
    case "on": {
      run("maintenance on", `${renderMaintenanceSettings(args.retryAfterSeconds)}---\n${maintenancePage(args)}`);
      process.stdout.write(status());
      break;
    }
    case "off":
      run("maintenance off");
      if (!process.exitCode) process.stdout.write(`${args.stack}: maintenance: off\n`);
      break;
    case "status":
      process.stdout.write(status());
      break;
  }
}

runMain(module, main);
