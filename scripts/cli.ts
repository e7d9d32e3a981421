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
