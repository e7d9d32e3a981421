/**
 * Benchmarks: one JSON object per line, {"metric", "value", "unit"}.
 * Run: npm run bench   (needs the toolchain: scripts/toolchain.sh builds it if missing)
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LocalWorkspace } from "@pulumi/pulumi/automation";
import { createTestStack, DUMMY_SCALEWAY_ENV, pulumiEnv, TEST_PASSPHRASE } from "../test/e2e/harness";
import { stackConfig, PROJECT_DIR } from "../test/support/stackFiles";

function report(metric: string, value: number, unit: string): void {
  process.stdout.write(`${JSON.stringify({ metric, value: Math.round(value * 1000) / 1000, unit })}\n`);
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const start = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - start) / 1e9;
}

/** Median of `runs` timings (the first run warms the plugin and module caches). */
async function median(runs: number, fn: () => Promise<unknown>): Promise<number> {
  await fn();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) times.push(await timed(fn));
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)] as number;
}

async function previewProd(): Promise<number> {
  const { structured, secretKeys } = stackConfig("prod");
  const config = Object.fromEntries(
    Object.entries(structured).map(([key, value]) => [key, secretKeys.includes(key) ? { value: "bench", secret: true } : { value }]),
  );
  const test = await createTestStack("prod", config, DUMMY_SCALEWAY_ENV);
  try {
    return await median(3, () => test.stack.preview({ color: "never" }));
  } finally {
    await test.dispose();
  }
}

/** The engine's floor: an empty nodejs program previewed the same way. */
async function previewEmpty(): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), "permacoop-bench-empty-"));
  try {
    const workDir = join(dir, "project");
    mkdirSync(workDir);
    mkdirSync(join(dir, "backend"));
    writeFileSync(join(workDir, "Pulumi.yaml"), "name: empty\nruntime:\n  name: nodejs\n  options:\n    typescript: false\nmain: index.js\n");
    writeFileSync(join(workDir, "index.js"), "module.exports = {};\n");
    symlinkSync(join(PROJECT_DIR, "node_modules"), join(workDir, "node_modules"));
    const envVars: Record<string, string> = { ...pulumiEnv(), PULUMI_BACKEND_URL: `file://${join(dir, "backend")}`, PULUMI_CONFIG_PASSPHRASE: TEST_PASSPHRASE };
    const stack = await LocalWorkspace.createStack({ stackName: "empty", workDir }, { envVars, pulumiHome: envVars.PULUMI_HOME });
    return await median(3, () => stack.preview({ color: "never" }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const prod = await previewProd();
  report("preview_prod_seconds", prod, "s");
  const empty = await previewEmpty();
  report("preview_empty_program_seconds", empty, "s");
  report("preview_prod_over_empty_ratio", prod / empty, "ratio");
}

main().catch((error) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
