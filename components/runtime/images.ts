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
): { refs: Record<string, pulumi.Output<string>>; resources: docker.Image[] } {
  const refs: Record<string, pulumi.Output<string>> = {};
  const resources: docker.Image[] = [];
  for (const service of config.services) {
    if (!service.build) continue;
    const context = service.build.context;
    const repository = service.image.replace(/[:@].*$/, "");
    const image = new docker.Image(
      `${name}-${service.name}-image`,
      {
        imageName: `${repository}:${contextHash(context)}`,
        build: { context, dockerfile: join(context, service.build.dockerfile), platform: "linux/amd64" },
        skipPush: true,
      },
      { parent },
    );
    refs[service.name] = image.imageName;
    resources.push(image);
  }
  return { refs, resources };
}
