import { lookup as dnsLookup } from "node:dns/promises";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { ServiceConfig, StackConfig } from "../config/schema";
import { registryProvider, stackRegistryLogins } from "./images";
import { byDigest, DIGEST_REF, registryOf } from "./reference";

/**
 * How a service's image is addressed: `digest` when it is resolved against its
 * registry (a tag, pulled); `as-is` when the reference already is a digest, is built here (its
 * tag is the build context's hash), or is provided on the host out of band (`pullPolicy: never`);
 * `from-stack` when another stack's `images` output gives it (promotion).
 */
export function resolution(service: Pick<ServiceConfig, "image" | "build" | "pullPolicy" | "fromStack">): "digest" | "from-stack" | "as-is" {
  if (service.fromStack !== undefined) return "from-stack"; // another stack's digest (Environment)
  return DIGEST_REF.test(service.image) || service.build !== undefined || service.pullPolicy === "never" ? "as-is" : "digest";
}

/** What the registry lookup answers: the manifest digest of a reference. */
export type DigestLookup = (image: string) => Promise<string>;

/** The registry lookup of the Docker provider (its registry credentials apply). */
export const registryDigest: DigestLookup = async (image) => (await docker.getRegistryImage({ name: image })).sha256Digest;

/**
 * The lookup with the stack's registry logins (`registries`, passwords from their secret keys):
 * a Docker provider holding them, declared before any other resource (it changes nothing).
 */
export function registryLookup(config: Pick<StackConfig, "registries">, secrets: Readonly<Record<string, pulumi.Input<string>>>): DigestLookup {
  if (config.registries.length === 0) return registryDigest;
  const provider = registryProvider("registries", stackRegistryLogins(config, secrets));
  return async (image) => (await docker.getRegistryImage({ name: image }, { provider })).sha256Digest;
}

/** Whether a registry's name resolves from this machine (an address resolves as itself). */
export type RegistryResolves = (registry: string) => Promise<boolean>;

/** The system resolver's answer for the registry's host (its port, and an IPv6 literal's brackets, left out). */
export const registryResolves: RegistryResolves = async (registry) => {
  const host = registry.startsWith("[") ? registry.slice(1, registry.indexOf("]")) : registry.replace(/:\d+$/, "");
  return dnsLookup(host).then(
    () => true,
    () => false,
  );
};

/**
 * The image each service runs, by digest where it comes from a registry: resolved before any
 * resource is declared, so that a tag which now points at other bytes rolls out, the same bytes
 * change nothing, and a registry that does not answer fails `pulumi up` before any change. In a
 * preview (a PR check without registry access) an unresolved tag is kept, with a warning; a
 * registry whose name does not even resolve is not asked (what the failed lookup would cost: the
 * Docker provider's start, its error formatted through source maps: 0.6 s of a preview).
 * Every host kind: the Docker hosts pull the digest, Serverless Containers run it.
 */
export async function resolveServiceImages(
  config: Pick<StackConfig, "host" | "services">,
  lookup: DigestLookup = registryDigest,
  resolves: RegistryResolves = registryResolves,
): Promise<Record<string, string>> {
  const entries = await Promise.all(
    config.services
      .filter((service) => resolution(service) === "digest")
      .map(async (service): Promise<[string, string]> => {
        try {
          if (pulumi.runtime.isDryRun() && !(await resolves(registryOf(service.image)))) {
            throw new Error("its name does not resolve from this machine");
          }
          return [service.name, byDigest(service.image, await lookup(service.image))];
        } catch (error) {
          const reason = error instanceof Error ? error.message.split("\n")[0] : String(error);
          if (pulumi.runtime.isDryRun()) {
            void pulumi.log.warn(
              `services: ${service.name}'s image ${service.image} is not resolved to a digest in this preview (registry ${registryOf(service.image)}: ${reason}); pulumi up resolves it, and stops before any change if the registry does not answer.`,
            );
            return [service.name, service.image];
          }
          throw new Error(
            `services: cannot resolve ${service.name}'s image ${service.image} to a digest: registry ${registryOf(service.image)} did not answer (${reason}). Nothing was changed. Check the image name and this machine's access to the registry (docker pull ${service.image}), then run pulumi up again.`,
          );
        }
      }),
  );
  return Object.fromEntries(entries);
}
