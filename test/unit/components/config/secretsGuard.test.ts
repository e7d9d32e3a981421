import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { findPlaintextSecrets } from "../../../../components/config/secretsGuard";
import { PLANTED_SECRETS } from "../../../support/plantedSecrets";
import { PROJECT_DIR } from "../../../support/stackFiles";

const stackFiles = readdirSync(PROJECT_DIR).filter((f) => /^Pulumi\..+\.yaml$/.test(f));

describe("secrets guard", () => {
  it.each(stackFiles)("finds no plaintext secret in %s", (file) => {
    expect(findPlaintextSecrets(file, readFileSync(join(PROJECT_DIR, file), "utf8"))).toEqual([]);
  });

  it.each(PLANTED_SECRETS)("finds %s", (_what, text, key) => {
    const findings = findPlaintextSecrets("Pulumi.prod.yaml", text);
    expect(findings.map((f) => f.key)).toContain(key);
    expect(JSON.stringify(findings)).not.toContain("hunter2");
  });
});
