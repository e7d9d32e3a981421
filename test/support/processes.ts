import { execFileSync } from "node:child_process";

/** Parent of each live process, from `ps`. */
function parents(): Map<number, number> {
  const table = new Map<number, number>();
  for (const line of execFileSync("ps", ["-e", "-o", "pid=,ppid="], { encoding: "utf8" }).split("\n")) {
    const [pid, ppid] = line.trim().split(/\s+/).map(Number);
    if (pid && ppid !== undefined) table.set(pid, ppid);
  }
  return table;
}

/** `root` and every process below it. */
export function processTree(root: number): number[] {
  const table = parents();
  const tree = [root];
  for (let i = 0; i < tree.length; i++) for (const [pid, ppid] of table) if (ppid === tree[i] && !tree.includes(pid)) tree.push(pid);
  return tree.filter((pid) => table.has(pid));
}

function signal(pids: readonly number[], name: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, name);
    } catch {
      // Already gone.
    }
  }
}

/** A process killed, with the command line it had. */
export interface KilledProcess {
  readonly pid: number;
  readonly command: string;
}

/**
 * Kills `root` and everything below it at one instant, as a power cut would: the tree is frozen
 * first (SIGSTOP) until no new process appears under it, so nothing escapes to init by outliving
 * its parent; plugins run in their own process groups, so a group kill would miss them.
 */
export function killProcessTree(root: number, moreRoots: readonly number[] = []): KilledProcess[] {
  let frozen: number[] = [];
  for (let round = 0; round < 20; round++) {
    const fresh = [...new Set([root, ...moreRoots].flatMap(processTree))].filter((pid) => !frozen.includes(pid));
    if (fresh.length === 0) break;
    signal(fresh, "SIGSTOP");
    frozen = [...frozen, ...fresh];
  }
  const commands = new Map(
    execFileSync("ps", ["-o", "pid=,args=", "-p", frozen.join(",")], { encoding: "utf8" })
      .split("\n")
      .map((line) => /^\s*(\d+)\s+(.*)$/.exec(line))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => [Number(m[1]), m[2]!] as const),
  );
  signal(frozen, "SIGKILL");
  return frozen.map((pid) => ({ pid, command: commands.get(pid) ?? "?" }));
}

/** Those of `pids` still alive (zombies, already dead, are not). */
export function stillAlive(pids: readonly number[]): { pid: number; command: string }[] {
  const alive: { pid: number; command: string }[] = [];
  for (const pid of pids) {
    try {
      const status = execFileSync("ps", ["-o", "stat=,args=", "-p", String(pid)], { encoding: "utf8" }).trim();
      if (status && !status.startsWith("Z")) alive.push({ pid, command: status });
    } catch {
      // ps exits 1 when the process is gone.
    }
  }
  return alive;
}

/** Processes whose command line matches `pattern` (pgrep -f): e.g. what a test host runs for a stack. */
export function processesMatching(pattern: string): number[] {
  try {
    return execFileSync("pgrep", ["-f", pattern], { encoding: "utf8" }).split("\n").filter(Boolean).map(Number);
  } catch {
    return []; // pgrep exits 1 when none matches
  }
}
