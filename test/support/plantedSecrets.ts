import { readFileSync } from "node:fs";
import { join } from "node:path";
import { PROJECT_DIR } from "./stackFiles";

/** Pulumi.prod.yaml as committed: no plaintext secret in it. */
export const PROD_STACK_FILE = readFileSync(join(PROJECT_DIR, "Pulumi.prod.yaml"), "utf8");

/** Pulumi.prod.yaml with a plaintext secret planted: what it is, the file's text, the key the guard must name. */
export const PLANTED_SECRETS: [string, string, string][] = [
  [
    "a top-level key named like a secret",
    PROD_STACK_FILE.replace(/permacoop:calendarToken:\n\s+secure: .*\n/, "permacoop:calendarToken: hunter2\n"),
    "permacoop:calendarToken",
  ],
  [
    "a key a service reads as a secret",
    PROD_STACK_FILE.replace(/permacoop:sessionSecret:\n\s+secure: .*\n/, "permacoop:sessionSecret: hunter2\n"),
    "permacoop:sessionSecret",
  ],
  [
    "a password nested in a service's env",
    PROD_STACK_FILE.replace("NODE_ENV: production", "NODE_ENV: production\n        SMTP_PASSWORD: hunter2"),
    "permacoop:services[0].env.SMTP_PASSWORD",
  ],
  [
    "an SSH private key",
    PROD_STACK_FILE.replace(
      "config:\n",
      'config:\n  permacoop:deployKey: "-----BEGIN OPENSSH PRIVATE KEY-----\\nhunter2\\n-----END OPENSSH PRIVATE KEY-----"\n',
    ),
    "permacoop:deployKey",
  ],
];
