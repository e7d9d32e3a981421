import { stackConfig } from "./stackFiles";

/** A resource the program declares (custom or component), as the engine would see it. */
export interface DeclaredResource {
  readonly type: string;
  readonly name: string;
  readonly custom: boolean;
}

/**
 * Runs index.ts under Pulumi mocks with a stack's configuration, in an isolated module
 * registry (index.ts reads config at load time). Resolves with every declared resource and
 * the error the program threw, if any.
 */
export async function runProgram(
  stack: string,
  raw?: Record<string, string>,
  secretKeys?: string[],
): Promise<{ resources: DeclaredResource[]; error?: unknown }> {
  const config = raw ? { raw, secretKeys: secretKeys ?? [] } : stackConfig(stack);
  const declared: DeclaredResource[] = [];
  let loadError: unknown;
  await jest.isolateModulesAsync(async () => {
    const pulumi = require("@pulumi/pulumi") as typeof import("@pulumi/pulumi");
    await pulumi.runtime.setMocks(
      {
        newResource: (args) => {
          declared.push({ type: args.type, name: args.name, custom: args.custom ?? true });
          return {
            id: `${args.name}-id`,
            state: {
              ...args.inputs,
              address: "203.0.113.10",
              loadBalancer: { ip: "198.51.100.20", port: 5432 },
              result: "pw",
              base64: Buffer.alloc(32, 1).toString("base64"),
              publicIps: [
                { address: "203.0.113.10", family: "inet" },
                { address: "2001:db8::1", family: "inet6" },
              ],
            },
          };
        },
        call: () => ({}),
      },
      "permacoop-infra",
      stack,
      true,
    );
    pulumi.runtime.setAllConfig(config.raw, config.secretKeys);
    try {
      require("../../index");
    } catch (error) {
      loadError = error;
    }
  });
  // Let registrations triggered by resolved outputs finish.
  await new Promise((resolve) => setTimeout(resolve, 200));
  return { resources: declared, error: loadError };
}

/** Counts of custom resources by type token. */
export function countByType(resources: readonly DeclaredResource[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const r of resources) if (r.custom) counts[r.type] = (counts[r.type] ?? 0) + 1;
  return Object.fromEntries(Object.entries(counts).sort(([a], [b]) => a.localeCompare(b)));
}
