/**
 * Backups of a container database and of the accessories (local and SSH hosts, a Scaleway VM's review database):
 *   npm run backup  -- -s <stack>                   take one now; prints its name
 *   npm run backup  -- -s <stack> --download <dir>  take one and copy it here (off the host), checksum checked
 *   npm run backup  -- -s <stack> --list            the backups on the host
 *   npm run restore -- -s <stack> <backup> [--yes]  restore one (after a safety backup)
 * Dumps live on the host in ~/.permacoop/<id>/backups (the stack output envId); the daily one is scheduled by the
 * deployment. A protected stack (prod by default) asks before a restore; --yes is for scripts.
 */
import { containerAccessories } from "../components/config/rules";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline/promises";
import { isDataProtected } from "../components/config/schema";
import { copyFromHost, readStack, runtimeAction, stackContract } from "./host";
import { runMain, takeFlag, takeStack } from "./args";

export type BackupArgs =
  | { readonly action: "backup"; readonly stack: string; readonly download?: string }
  | { readonly action: "list"; readonly stack: string }
  | { readonly action: "restore"; readonly stack: string; readonly backup: string; readonly yes: boolean };

const USAGE = {
  backup: "usage: npm run backup -- -s <stack> [--list | --download <dir>]",
  restore: "usage: npm run restore -- -s <stack> <backup> [--yes]",
};

/** Parses the arguments of `npm run backup` (`command` "backup") or `npm run restore`. */
export function parseBackupArgs(command: "backup" | "restore", argv: readonly string[]): BackupArgs {
  const usage = USAGE[command];
  const rest = [...argv];
  const stack = takeStack(rest, usage);
  if (command === "backup") {
    const list = takeFlag(rest, "--list");
    const at = rest.indexOf("--download");
    const download = at >= 0 ? rest.splice(at, 2)[1] : undefined;
    if (at >= 0 && (!download || download.startsWith("-"))) throw new Error(`${usage}\n(--download needs a directory)`);
    if (rest.length > 0) throw new Error(`${usage}\n(unexpected: ${rest.join(" ")})`);
    if (list && download) throw new Error(`${usage}\n(--list or --download, not both)`);
    return list ? { action: "list", stack } : { action: "backup", stack, ...(download ? { download } : {}) };
  }
  const yes = takeFlag(rest, "--yes");
  if (rest.length !== 1 || rest[0]!.startsWith("-"))
    throw new Error(
      `${usage}\n(${rest.length === 0 ? "missing <backup>: list them with npm run backup -- -s " + stack + " --list" : `unexpected: ${rest.join(" ")}`})`,
    );
  const backup = rest[0]!;
  if (!/^[A-Za-z0-9._-]+\.(dump|s3|rdb|tar)$/.test(backup))
    throw new Error(
      `${usage}\n(expected a backup name such as ${stack}-20260101T030000Z-daily.dump, or an accessory's such as ${stack}-20260101T030000Z-daily.cache.rdb, found ${backup})`,
    );
  return { action: "restore", stack, backup, yes };
}

async function confirmed(stack: string, backup: string): Promise<boolean> {
  if (!process.stdin.isTTY) return false;
  const prompt = createInterface({ input: process.stdin, output: process.stderr });
  const answer = await prompt.question(
    `Stack ${stack} is protected. Restoring ${backup} replaces its data (a safety backup is taken first).\nType the stack name to go on: `,
  );
  prompt.close();
  return answer.trim() === stack;
}

async function main(): Promise<void> {
  const command = process.argv[2] === "restore" ? "restore" : "backup";
  const args = parseBackupArgs(command, process.argv.slice(3));
  const { config, secrets } = readStack(args.stack);
  if (config.database.kind === "external" && containerAccessories(config).length === 0) {
    throw new Error(
      `stack ${args.stack} uses an external database (${config.database.host}): its backups are its operator's, and it has no accessory to back up`,
    );
  }
  if (config.database.kind === "scaleway-managed" && containerAccessories(config).length === 0) {
    throw new Error(
      `stack ${args.stack} uses a Scaleway managed database: it is backed up every ${config.database.backupFrequencyHours} h and kept ${config.database.backupRetentionDays} days by Scaleway (scw rdb backup list / create / restore)`,
    );
  }
  if (args.action === "restore" && !args.yes && isDataProtected(config.database, args.stack) && !(await confirmed(args.stack, args.backup))) {
    throw new Error(`restore of ${args.backup} on protected stack ${args.stack} not confirmed: nothing was changed (scripts: add --yes)`);
  }
  const action = args.action === "restore" ? `restore ${args.backup}` : args.action === "list" ? "backups" : "backup";
  const result = runtimeAction(args.stack, config, secrets, action);
  process.stdout.write(result.stdout);
  process.exitCode = result.status;
  if (args.action === "backup" && args.download && result.status === 0) {
    const name = /backup (\S+\.dump) /.exec(result.stdout)?.[1];
    if (!name) throw new Error("the host did not say which backup it wrote: nothing downloaded");
    mkdirSync(args.download, { recursive: true });
    const target = join(args.download, name);
    copyFromHost(args.stack, config, secrets, `${stackContract(args.stack).paths.backups}/${name}`, target);
    process.stdout.write(`downloaded ${target} (sha256 checked)\n`);
  }
}

runMain(module, main);
