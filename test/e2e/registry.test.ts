import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { LocalWorkspace, Stack } from "@pulumi/pulumi/automation";
import { pushImage, registryProvider } from "../../components/registry/images";
import { TestRegistry, startRegistry } from "../support/registry";
import { PROJECT_DIR } from "../support/stackFiles";
import { freePort, testPulumiCliEnv } from "./harness";
import { prepareImages } from "./lifecycle";

/**
 * Build and push with the real engine, the real Docker plugin and a real registry (Debian's
 * docker-registry, on loopback, with a login): the pushed image is addressed by the digest the
 * registry reports, and a second `up` of the same source changes nothing.
 */

const USER = "nologin"; // the Scaleway registry's login; the password is the API secret key
const PASSWORD = "e2e-registry-secret-key";

describe("image build and push to a registry (real engine, real Docker plugin, docker-registry on loopback)", () => {
  let dir: string;
  let registry: TestRegistry | undefined;
  let stack: Stack | undefined;
  let address: string;
  const repository = "permacoop-e2e";

  beforeAll(async () => {
    prepareImages(); // the app's base image and dependencies, as on a fresh machine
    dir = mkdtempSync(join(tmpdir(), "permacoop-e2e-registry-"));
    address = `127.0.0.1:${await freePort()}`;
    mkdirSync(join(dir, "backend"));
    registry = await startRegistry(dir, [address], { user: USER, password: PASSWORD });

    const env: Record<string, string> = testPulumiCliEnv(join(dir, "backend"));
    const program = async () => {
      const parent = new pulumi.ComponentResource("permacoop:test:Registry", "registry");
      // A plain-HTTP registry on loopback is named with its scheme; Scaleway's is `rg.<region>.scw.cloud`.
      const provider = registryProvider("registry-docker", [{ address: `http://${address}`, username: USER, password: PASSWORD }], parent);
      const image = pushImage(
        "registry-app",
        `${address}/${repository}`,
        { name: "app", build: { context: join(PROJECT_DIR, "app"), dockerfile: "Dockerfile" } },
        provider,
        parent,
      );
      return { ref: image.ref };
    };
    stack = await LocalWorkspace.createStack(
      { stackName: "registry", projectName: "permacoop-registry-e2e", program },
      {
        envVars: env,
        pulumiHome: env.PULUMI_HOME,
        projectSettings: { name: "permacoop-registry-e2e", runtime: "nodejs", backend: { url: env.PULUMI_BACKEND_URL } },
      },
    );
  });

  afterAll(async () => {
    try {
      await stack?.destroy({ color: "never" });
    } catch {
      // nothing to destroy when the scenario failed early
    }
    await registry?.stop();
    try {
      const tags = execFileSync("docker", ["images", "--format", "{{.Repository}}:{{.Tag}}", "--filter", `reference=${address}/${repository}/*`], {
        encoding: "utf8",
      });
      for (const tag of tags.split("\n").filter(Boolean)) execFileSync("docker", ["rmi", tag], { stdio: "ignore" });
    } catch {
      // best effort: the images carry a throwaway port in their name
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("pushes the image with the login, addresses it by the registry's digest, and a second up changes nothing", async () => {
    const first = await stack!.up({ color: "never" });
    const ref = first.outputs.ref!.value as string;
    const match = new RegExp(`^${address.replace(/\./g, "\\.")}/${repository}/app@(sha256:[0-9a-f]{64})$`).exec(ref);
    expect(match).not.toBeNull();

    // The digest is the registry's own: its manifest for the pushed tag has exactly that digest.
    const tag = execFileSync("docker", ["images", "--format", "{{.Tag}}", "--filter", `reference=${address}/${repository}/app`], { encoding: "utf8" }).trim();
    const manifest = await fetch(`http://${address}/v2/${repository}/app/manifests/${tag}`, {
      method: "HEAD",
      headers: {
        authorization: `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString("base64")}`,
        accept: "application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json",
      },
    });
    expect(manifest.status).toBe(200);
    expect(manifest.headers.get("docker-content-digest")).toBe(match![1]);
    // Without the login the registry refuses: the push above really logged in.
    expect((await fetch(`http://${address}/v2/${repository}/app/manifests/${tag}`, { method: "HEAD" })).status).toBe(401);

    const second = await stack!.up({ color: "never" });
    expect(second.outputs.ref!.value).toBe(ref);
    const changes = second.summary.resourceChanges ?? {};
    expect(Object.keys(changes).filter((op) => op !== "same")).toEqual([]);
    // The secret key never shows in the engine's output.
    expect(first.stdout + second.stdout).not.toContain(PASSWORD);
  });
});
