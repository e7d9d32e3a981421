// Image references, pure: what the rollout and the resolver share without loading any provider SDK.

/** An image reference by digest: `<repository>@sha256:<64 hex>`. */
export const DIGEST_REF = /^[^@\s]+@sha256:[0-9a-f]{64}$/;

/** `<repository>@<digest>` from a pushed image's name (`repo:tag`) and its digest. */
export function byDigest(name: string, digest: string): string {
  if (!/^sha256:[0-9a-f]{64}$/.test(digest)) throw new Error(`registry: ${name} was pushed but the registry reports no sha256 digest (got "${digest}")`);
  return `${name.replace(/:[^/:]*$/, "")}@${digest}`;
}

/** The registry an image reference names (`docker.io` when it names none), for messages. */
export function registryOf(image: string): string {
  const first = image.split("/")[0]!;
  return image.includes("/") && (first.includes(".") || first.includes(":") || first === "localhost") ? first : "docker.io";
}
