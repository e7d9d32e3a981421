/** One environment's host scripts as the unit tests render them: a two-service stack on a VM with a container database and TLS. */
import { execFileSync } from "node:child_process";
import { rolloutSpec as buildRolloutSpec, RolloutSpec } from "../../components/rollout/rollout";
import { hostContract } from "../../components/runtime/contract";
import { runtimeSpec as buildRuntimeSpec, RuntimeSpec } from "../../components/runtime/runtime";
import { parse, validConfigInput } from "./mocks";
import { shellcheck } from "./validators";

export const contract = hostContract("prod");
export const config = parse(
  {
    ...validConfigInput(),
    database: { kind: "container" },
    dns: { provider: "scaleway", zone: "example.org", hostnames: ["permacoop.example.org", "www.example.org"] },
    tls: { enabled: true, email: "ops@example.org", acmeDirectory: "https://acme-staging-v02.api.letsencrypt.org/directory" },
    services: [
      { name: "app", image: "ghcr.io/fairnesscoop/permacoop:main", port: 3000, healthPath: "/healthz", release: { command: "make database-migrate" } },
      { name: "api", image: "ghcr.io/fairnesscoop/permacoop-api:main", port: 4000, healthPath: "/health", route: "/api/" },
    ],
    jobs: [
      { name: "nightly-report", service: "app", schedule: "0 3 * * *", command: "make report\t&& echo 'done'" },
      { name: "purge", service: "api", schedule: "@hourly", command: "node purge.js", timeoutSeconds: 60 },
    ],
  },
  {},
);
export const rolloutSpec: RolloutSpec = buildRolloutSpec(config.services[0]!, contract, "ghcr.io/fairnesscoop/permacoop:main", 8001, config.database.kind);
export const runtimeSpec: RuntimeSpec = buildRuntimeSpec(config, contract, { bindAddress: "0.0.0.0", httpPort: 80, httpsPort: 443 });

/** Evaluates the spec header of a rendered script and prints one variable. */
export function variable(script: string, name: string): string {
  // The variables end where the sources begin: the first function (the switch file's renderer).
  const header = script.slice(0, script.indexOf("\nrender_switch_file() {"));
  return execFileSync("bash", ["-c", `${header}\nprintf %s "$${name}"`], { encoding: "utf8" });
}

/** What every rendered host script must be: clean under shellcheck, every variable it uses expanded. */
export function itIsASoundHostScript(script: () => string): void {
  it("passes shellcheck", () => {
    const result = shellcheck(script());
    expect(result.output).toBe("");
    expect(result.ok).toBe(true);
  });

  it("expands the variables it uses: none sits inside single quotes", () => {
    expect(script().match(/'[^'\n]*\$\{?[A-Z][A-Z_]*\}?[^'\n]*'/g)).toBeNull();
  });
}
