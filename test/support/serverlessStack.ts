/**
 * A sample `scaleway-container` stack for the tests (not a real environment: no Pulumi.<stack>.yaml):
 * the reference app built from `app/` and pushed, answering on two hostnames, and a second
 * service pinned by digest on a hostname of its own, with its own scale and limits.
 */
export const SERVERLESS_STACK = "serverless";

/** Digest the sample pins its second service to. */
export const PINNED_DOCS_IMAGE = `ghcr.io/fairnesscoop/permacoop-docs@sha256:${"ab".repeat(32)}`;

/** The stack's `permacoop:` structured keys (as in a stack file, without the namespace). */
export function serverlessConfigInput(): Record<string, unknown> {
  return {
    host: {
      kind: "scaleway-container",
      region: "fr-par",
      registryNamespace: "permacoop-serverless-sample",
      minScale: 1,
      maxScale: 10,
      services: {
        docs: { hostnames: ["docs.permacoop.example.org"], minScale: 0, maxScale: 2, cpuLimit: 140, memoryLimitMb: 256 },
      },
    },
    database: { kind: "scaleway-managed", region: "fr-par" },
    dns: { provider: "scaleway", zone: "example.org", hostnames: ["permacoop.example.org", "www.permacoop.example.org", "docs.permacoop.example.org"] },
    services: [
      {
        name: "app",
        image: "permacoop/reference-app",
        build: { context: "app" },
        port: 3000,
        env: { NODE_ENV: "production" },
        secretEnv: { CALENDAR_TOKEN: "calendarToken" },
      },
      { name: "docs", image: PINNED_DOCS_IMAGE, port: 8080, healthPath: "/" },
    ],
  };
}

/** Secret `permacoop:` keys of the sample, with dummy values. */
export const SERVERLESS_SECRETS: Record<string, string> = { calendarToken: "calendar-token-value" };
