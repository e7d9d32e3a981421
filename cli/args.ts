/**
 * Runs a script's `main` when its file is the one node was started with (not when a test
 * imports it): an error prints its message alone, without a stack trace, and exits 1.
 */
export function runMain(module: NodeJS.Module, main: () => void | Promise<void>): void {
  if (require.main !== module) return;
  Promise.resolve()
    .then(main)
    .catch((error: unknown) => {
      process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(1);
    });
}

/** Removes `-s <stack>` (or `--stack <stack>`) from `rest` and returns the stack; throws the usage when it is missing. */
export function takeStack(rest: string[], usage: string): string {
  const at = rest.findIndex((a) => a === "-s" || a === "--stack");
  const stack = at >= 0 ? rest[at + 1] : undefined;
  if (!stack || stack.startsWith("-")) throw new Error(`${usage}\n(missing -s <stack>)`);
  rest.splice(at, 2);
  return stack;
}

/** Removes the flag `name` from `rest`; says whether it was there. */
export function takeFlag(rest: string[], name: string): boolean {
  const at = rest.indexOf(name);
  if (at >= 0) rest.splice(at, 1);
  return at >= 0;
}
