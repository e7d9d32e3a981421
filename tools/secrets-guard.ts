/**
 * Fails when a Pulumi stack file holds a secret in plaintext.
 *   npx ts-node --transpile-only tools/secrets-guard.ts [Pulumi.<stack>.yaml ...]
 * Without arguments: every Pulumi.*.yaml of the project. Used by `npm test` and as a git
 * pre-commit hook (.githooks/pre-commit).
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { findPlaintextSecrets } from "../components/config/secretsGuard";

const root = join(__dirname, "..");
const files =
  process.argv.slice(2).length > 0
    ? process.argv.slice(2)
    : readdirSync(root)
        .filter((f) => /^Pulumi\..+\.ya?ml$/.test(f))
        .map((f) => join(root, f));
const findings = files.flatMap((file) => findPlaintextSecrets(file, readFileSync(file, "utf8")));
for (const f of findings) {
  const key = f.key.split(/[.[]/)[0];
  process.stderr.write(
    `${f.file}: ${f.key}: ${f.why}.\n  fix: pulumi config rm --path '${f.key}' && pulumi config set --secret --path '${f.key}'   (or for a top-level key: pulumi config set --secret ${key})\n`,
  );
}
if (findings.length > 0) {
  process.stderr.write(`secrets guard: ${findings.length} plaintext secret(s); nothing committed.\n`);
  process.exit(1);
}
process.stdout.write(`secrets guard: ${files.length} stack file(s) clean\n`);
