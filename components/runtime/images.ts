import { createHash } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { StackConfig } from "../config/schema";

/** Content hash of a build context (file names and bytes), ignoring node_modules and dotfiles. */
export function contextHash(dir: string): string {
  const hash = createHash("sha256");
  const walk = (current: string): void => {
    for (const entry of readdirSync(current).sort()) {
      if (entry === "node_modules" || entry.startsWith(".")) continue;
      const path = join(current, entry);
      if (statSync(path).isDirectory()) walk(path);
      else hash.update(relative(dir, path)).update("\0").update(readFileSync(path)).update("\0");
    }
  };
  walk(dir);
  return hash.digest("hex").slice(0, 12);
}

/**
 * Builds the images of services that have `build` (locally, never pushed), tagged with the
 * hash of their build context: the tag, and so the rollout, changes exactly when the source does.
 */
export function buildImages(
  name: string,
  config: StackConfig,
  parent: pulumi.Resource,
): { refs: Record<string, pulumi.Output<string>>; resources: docker.RemoteImage[] } {
  const refs: Record<string, pulumi.Output<string>> = {};
  const resources: docker.RemoteImage[] = [];
  for (const service of config.services) {
    if (!service.build) continue;
    const context = service.build.context;
    const repository = service.image.replace(/[:@].*$/, "");
    const tag = `${repository}:${contextHash(context)}`;
    const image = new docker.RemoteImage(
      `${name}-${service.name}-image`,
      { name: tag, build: { context, dockerfile: service.build.dockerfile, tags: [tag] }, keepLocally: true },
      { parent },
    );
    refs[service.name] = image.name;
    resources.push(image);
  }
  return { refs, resources };
}
