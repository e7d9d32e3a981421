import * as pulumi from "@pulumi/pulumi";
import { Environment } from "../../../../components/environment";
import { repairSteps } from "../../../../components/runtime/contract";
import { registryOf } from "../../../../components/registry/reference";
import { registryResolves, resolution, resolveServiceImages } from "../../../../components/registry/resolve";
import { installedScript } from "../../../support/hostScripts";
import { SERVERLESS_SECRETS, SERVERLESS_STACK, serverlessConfigInput } from "../../../support/serverlessStack";
import { Declared, installMocks, mockDigest, parse, recorder, STACK_OUTPUTS, valueOf } from "../../../support/mocks";

beforeAll(() => installMocks());
afterEach(() => jest.restoreAllMocks());

const DIGEST_A = `sha256:${"a".repeat(64)}`;
const DIGEST_B = `sha256:${"b".repeat(64)}`;

const sshConfig = (services: Record<string, unknown>[]) =>
  parse(
    {
      host: { kind: "ssh", address: "203.0.113.10", hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHc2p5Zb0Q9y8m7x3kVt4Jb9qW1eR6tY2uI8oP0aS4dF" },
      database: { kind: "container" },
      dns: { provider: "none", hostnames: ["app.example.org"] },
      tls: { enabled: false },
      services,
    },
    { sshPrivateKey: "-----BEGIN OPENSSH PRIVATE KEY-----\nx\n-----END OPENSSH PRIVATE KEY-----\n" },
    "prod",
  );

describe("images by digest, on every host kind", () => {
  it("resolves a pulled tag to <repository>@<digest>, and keeps digests, built images and pullPolicy never as written", async () => {
    const config = sshConfig([
      { name: "app", image: "ghcr.io/fairnesscoop/permacoop:main", port: 3000 },
      { name: "api", image: `ghcr.io/fairnesscoop/api@${DIGEST_B}`, port: 4000, route: "/api/" },
      { name: "worker", image: "registry.example.org:5000/worker:1", port: 5000, route: "/worker/", pullPolicy: "never" },
    ]);
    const asked: string[] = [];
    const resolved = await resolveServiceImages(config, async (image) => (asked.push(image), DIGEST_A));
    expect(resolved).toEqual({ app: `ghcr.io/fairnesscoop/permacoop@${DIGEST_A}` });
    expect(asked).toEqual(["ghcr.io/fairnesscoop/permacoop:main"]);
    expect(resolution({ image: "app", build: { context: "app", dockerfile: "Dockerfile" }, pullPolicy: "missing" })).toBe("as-is");
  });

  it("fails pulumi up before any change, naming the service, the image and the registry, when the registry does not answer", async () => {
    const config = sshConfig([{ name: "app", image: "ghcr.io/fairnesscoop/permacoop:main", port: 3000 }]);
    const refused = resolveServiceImages(config, async () => {
      throw new Error("Get https://ghcr.io/v2/: dial tcp: lookup ghcr.io: no such host\nmore detail");
    });
    await expect(refused).rejects.toThrow(
      /^services: cannot resolve app's image ghcr.io\/fairnesscoop\/permacoop:main to a digest: registry ghcr.io did not answer \(Get https:\/\/ghcr.io\/v2\/: dial tcp: lookup ghcr.io: no such host\)\. Nothing was changed\./,
    );
  });

  it("in a preview without registry access, keeps the tag and says so", async () => {
    jest.spyOn(pulumi.runtime, "isDryRun").mockReturnValue(true);
    const warn = jest.spyOn(pulumi.log, "warn").mockResolvedValue();
    const config = sshConfig([{ name: "app", image: "nginx:stable", port: 80 }]);
    const resolved = await resolveServiceImages(
      config,
      async () => {
        throw new Error("registry unreachable");
      },
      async () => true,
    );
    expect(resolved).toEqual({ app: "nginx:stable" });
    expect(warn.mock.calls[0]![0]).toMatch(
      /app's image nginx:stable is not resolved to a digest in this preview \(registry docker\.io: registry unreachable\)/,
    );
  });

  it("in a preview, does not ask a registry whose name does not resolve (an offline PR check)", async () => {
    jest.spyOn(pulumi.runtime, "isDryRun").mockReturnValue(true);
    const warn = jest.spyOn(pulumi.log, "warn").mockResolvedValue();
    const config = sshConfig([{ name: "app", image: "ghcr.io/fairnesscoop/permacoop:main", port: 3000 }]);
    const asked: string[] = [];
    const resolved = await resolveServiceImages(
      config,
      async () => DIGEST_A,
      async (registry) => (asked.push(registry), false),
    );
    expect(resolved).toEqual({ app: "ghcr.io/fairnesscoop/permacoop:main" });
    expect(asked).toEqual(["ghcr.io"]);
    expect(warn.mock.calls[0]![0]).toMatch(/not resolved to a digest in this preview \(registry ghcr\.io: its name does not resolve from this machine\)/);
  });

  it("in pulumi up, asks the registry whatever the name's resolution (the lookup's own error names the cause)", async () => {
    const resolved = await resolveServiceImages(
      sshConfig([{ name: "app", image: "ghcr.io/fairnesscoop/permacoop:main", port: 3000 }]),
      async () => DIGEST_A,
      async () => false,
    );
    expect(resolved).toEqual({ app: `ghcr.io/fairnesscoop/permacoop@${DIGEST_A}` });
  });

  it("looks a registry's host up without its port or an IPv6 literal's brackets", async () => {
    expect(await registryResolves("127.0.0.1:5000")).toBe(true);
    expect(await registryResolves("[::1]:5000")).toBe(true);
    expect(await registryResolves("localhost")).toBe(true);
    expect(await registryResolves("registry.invalid")).toBe(false);
  });

  it("names the registry of a reference (docker.io when it names none)", () => {
    expect(registryOf("nginx:stable")).toBe("docker.io");
    expect(registryOf("library/nginx")).toBe("docker.io");
    expect(registryOf("ghcr.io/org/app:1")).toBe("ghcr.io");
    expect(registryOf("localhost:5000/app")).toBe("localhost:5000");
    expect(registryOf("rg.fr-par.scw.cloud/ns/app@sha256:0")).toBe("rg.fr-par.scw.cloud");
  });

  it("asks the registry through the Docker provider (its credentials apply)", async () => {
    const config = sshConfig([{ name: "app", image: "ghcr.io/fairnesscoop/permacoop:main", port: 3000 }]);
    expect(await resolveServiceImages(config)).toEqual({ app: `ghcr.io/fairnesscoop/permacoop@${mockDigest("ghcr.io/fairnesscoop/permacoop:main")}` });
  });

  it("rolls out when the tag points at other bytes, and changes nothing for the same bytes", async () => {
    const rolloutOf = async (digest: string) => {
      const declared: Declared[] = [];
      const config = sshConfig([{ name: "app", image: "ghcr.io/fairnesscoop/permacoop:main", port: 3000 }]);
      const env = new Environment(
        "prod",
        { name: "prod", config, secrets: { sshPrivateKey: pulumi.secret("k") }, resolvedImages: { app: `ghcr.io/fairnesscoop/permacoop@${digest}` } },
        { transformations: [recorder(declared)] },
      );
      await valueOf(env.serviceEnv.app!);
      const rollout = declared.find((d) => d.name === "prod-runtime-app-rollout")!;
      const scripts = declared.find((d) => d.name === "prod-runtime-scripts")!;
      const create = await valueOf(rollout.props.create as pulumi.Input<string>);
      return { create, script: installedScript(await valueOf(scripts.props.stdin as pulumi.Input<string>), create), images: await valueOf(env.images) };
    };
    const a = await rolloutOf(DIGEST_A);
    expect(a.script).toMatch(new RegExp(`^IMAGE='ghcr.io/fairnesscoop/permacoop@${DIGEST_A}'$`, "m"));
    expect(a.images).toEqual({ app: `ghcr.io/fairnesscoop/permacoop@${DIGEST_A}` });
    expect((await rolloutOf(DIGEST_A)).create).toBe(a.create);
    expect((await rolloutOf(DIGEST_B)).create).not.toBe(a.create);
  });

  it("a VM's service with fromStack runs exactly the digest the other stack runs, and is not resolved again", async () => {
    const STAGING = "fairnesscoop/permacoop-infra/staging";
    const tested = `ghcr.io/fairnesscoop/permacoop@${DIGEST_B}`;
    STACK_OUTPUTS[STAGING] = { images: { app: tested } };
    const declared: Declared[] = [];
    const config = sshConfig([{ name: "app", image: "ghcr.io/fairnesscoop/permacoop", fromStack: STAGING, port: 3000 }]);
    expect(await resolveServiceImages(config, async () => DIGEST_A)).toEqual({});
    const env = new Environment("prod", { name: "prod", config, secrets: { sshPrivateKey: pulumi.secret("k") } }, { transformations: [recorder(declared)] });
    expect(await valueOf(env.images)).toEqual({ app: tested });
    expect(declared.filter((d) => d.type === "pulumi:pulumi:StackReference").map((d) => d.props.name)).toEqual([STAGING]);
  });

  it("on Serverless Containers, a pulled tag is resolved too, and the container runs that digest", async () => {
    process.env.SCW_SECRET_KEY ??= "dummy-secret-key-for-the-build";
    const input = serverlessConfigInput() as { services: Record<string, unknown>[] };
    input.services[1] = { name: "docs", image: "ghcr.io/fairnesscoop/permacoop-docs:main", port: 8080, healthPath: "/" };
    const config = parse(input, SERVERLESS_SECRETS, SERVERLESS_STACK);
    const resolved = await resolveServiceImages(config, async () => DIGEST_A);
    expect(resolved).toEqual({ docs: `ghcr.io/fairnesscoop/permacoop-docs@${DIGEST_A}` }); // app is built: as is
    const declared: Declared[] = [];
    const secrets = Object.fromEntries(Object.entries(SERVERLESS_SECRETS).map(([k, v]) => [k, pulumi.secret(v)]));
    const env = new Environment(
      SERVERLESS_STACK,
      { name: SERVERLESS_STACK, config, secrets, resolvedImages: resolved },
      { transformations: [recorder(declared)] },
    );
    const docs = declared.find((d) => d.type === "scaleway:containers/container:Container" && d.props.name === "docs")!;
    expect(await valueOf(docs.props.image as pulumi.Input<string>)).toBe(`ghcr.io/fairnesscoop/permacoop-docs@${DIGEST_A}`);
    expect((await valueOf(env.host.outputs.images!)).docs).toBe(`ghcr.io/fairnesscoop/permacoop-docs@${DIGEST_A}`);
  });
});

describe("private registries: a login on every host, through stdin", () => {
  const withRegistry = (secrets: Record<string, string>) =>
    parse(
      {
        host: { kind: "ssh", address: "203.0.113.10", hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHc2p5Zb0Q9y8m7x3kVt4Jb9qW1eR6tY2uI8oP0aS4dF" },
        database: { kind: "container" },
        dns: { provider: "none", hostnames: ["app.example.org"] },
        tls: { enabled: false },
        services: [{ name: "app", image: "ghcr.io/fairnesscoop/permacoop:main", port: 3000 }],
        registries: [{ address: "ghcr.io", username: "permacoop-bot", passwordSecret: "ghcrToken" }],
      },
      { sshPrivateKey: "-----BEGIN OPENSSH PRIVATE KEY-----\nx\n-----END OPENSSH PRIVATE KEY-----\n", ...secrets },
      "prod",
    );

  it("needs the password's secret key, and says how to set it", () => {
    expect(() => withRegistry({})).toThrow(
      /permacoop:ghcrToken[\s\S]*the password or token of permacoop-bot on ghcr\.io[\s\S]*pulumi config set --secret permacoop:ghcrToken/,
    );
  });

  it("logs the host in with the password on stdin (secret), never in the command, before every rollout", async () => {
    const declared: Declared[] = [];
    const config = withRegistry({ ghcrToken: "ghp_registry_token_value" });
    const env = new Environment(
      "prod",
      { name: "prod", config, secrets: { sshPrivateKey: pulumi.secret("k"), ghcrToken: pulumi.secret("ghp_registry_token_value") } },
      { transformations: [recorder(declared)] },
    );
    await valueOf(env.serviceEnv.app!);
    const login = declared.find((d) => d.name === "prod-runtime-registry-ghcr-io")!;
    const create = await valueOf(login.props.create as pulumi.Input<string>);
    expect(create).toMatch(/^export PERMACOOP_OWNER='[0-9a-f]+'; docker login 'ghcr\.io' --username 'permacoop-bot' --password-stdin >\/dev\/null$/);
    expect(create).not.toContain("ghp_registry_token_value");
    expect(await pulumi.isSecret(pulumi.output(login.props.stdin as pulumi.Input<string>))).toBe(true);
    expect(await valueOf(login.props.stdin as pulumi.Input<string>)).toBe("ghp_registry_token_value");
    expect((login.opts as pulumi.CustomResourceOptions).additionalSecretOutputs).toEqual(expect.arrayContaining(["stdout", "stderr"]));
    const rollout = declared.find((d) => d.name === "prod-runtime-app-rollout")!;
    const dependsOn = (rollout.opts as pulumi.CustomResourceOptions).dependsOn as pulumi.Resource[];
    expect(dependsOn).toContain((env.runtimes[0]! as unknown as { registryLogins: Record<string, pulumi.Resource> }).registryLogins["ghcr.io"]);
    expect(repairSteps("prod", ["app"], ["ghcr.io"]).map((s) => s.name)).toContain("prod-runtime-registry-ghcr-io");
  });
});

describe("a build for a server elsewhere", () => {
  const building = (extra: Record<string, unknown>, secrets: Record<string, string> = {}) =>
    parse(
      {
        host: { kind: "ssh", address: "203.0.113.10", hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHc2p5Zb0Q9y8m7x3kVt4Jb9qW1eR6tY2uI8oP0aS4dF" },
        database: { kind: "container" },
        dns: { provider: "none", hostnames: ["app.example.org"] },
        tls: { enabled: false },
        services: [{ name: "app", image: "permacoop/reference-app", build: { context: "app" }, port: 3000 }],
        ...extra,
      },
      { sshPrivateKey: "-----BEGIN OPENSSH PRIVATE KEY-----\nx\n-----END OPENSSH PRIVATE KEY-----\n", ...secrets },
      "prod",
    );

  it("without a buildRegistry, is refused before anything is touched, with the fix (nothing would carry the image there)", () => {
    expect(() => building({})).toThrow(
      /permacoop:services\[0\]\.build: expected a buildRegistry with build on host\.kind "ssh" \(an image built on this machine reaches the server through a registry[\s\S]*fix: pulumi config set permacoop:buildRegistry /,
    );
    expect(() => building({ buildRegistry: "GHCR.io/Org" })).toThrow(/permacoop:buildRegistry: expected a registry host and a lower-case path/);
    expect(() => building({ buildRegistry: "ghcr.io" })).toThrow(/permacoop:buildRegistry: expected a registry host and a lower-case path/);
  });

  it("is built once here, pushed to the buildRegistry with its login, and the host pulls it by digest", async () => {
    const declared: Declared[] = [];
    const config = building(
      { buildRegistry: "ghcr.io/fairnesscoop", registries: [{ address: "ghcr.io", username: "permacoop-bot", passwordSecret: "ghcrToken" }] },
      { ghcrToken: "ghp_build_push_token" },
    );
    const env = new Environment(
      "prod",
      { name: "prod", config, secrets: { sshPrivateKey: pulumi.secret("k"), ghcrToken: pulumi.secret("ghp_build_push_token") } },
      { transformations: [recorder(declared)] },
    );
    const images = await valueOf(env.images);
    expect(images.app).toMatch(/^ghcr\.io\/fairnesscoop\/app@sha256:[0-9a-f]{64}$/);
    const build = declared.find((d) => d.type === "docker:index/remoteImage:RemoteImage")!;
    expect(await valueOf(build.props.name as pulumi.Input<string>)).toMatch(/^ghcr\.io\/fairnesscoop\/app:[0-9a-f]{12}$/);
    const provider = declared.find((d) => d.type === "pulumi:providers:docker" && d.name === "prod-build-registry")!;
    // Provider inputs reach the engine as JSON.
    const raw = await valueOf(provider.props.registryAuth as pulumi.Input<unknown>);
    const auth = (typeof raw === "string" ? JSON.parse(raw) : raw) as { address: string; username: string; password: string }[];
    expect(auth[0]!.password).toBe("ghp_build_push_token");
    expect(auth.map(({ address, username }) => ({ address, username }))).toEqual([{ address: "ghcr.io", username: "permacoop-bot" }]);
    expect(await pulumi.isSecret(pulumi.output(provider.props.registryAuth as pulumi.Input<unknown>))).toBe(true);
    const rollout = declared.find((d) => d.name === "prod-runtime-app-rollout")!;
    // The rollout waits for the host's runtime, which waits for the push.
    const runtime = declared.find((d) => d.name === "prod-runtime-runtime")!;
    const waitsFor = ((runtime.opts as pulumi.CustomResourceOptions).dependsOn as pulumi.Resource[]).map((r) => (r as unknown as { __name: string }).__name);
    expect(waitsFor).toContain("prod-app-push");
    const scripts = declared.find((d) => d.name === "prod-runtime-scripts")!;
    const script = installedScript(await valueOf(scripts.props.stdin as pulumi.Input<string>), await valueOf(rollout.props.create as pulumi.Input<string>));
    expect(script).toContain(`IMAGE='${images.app}'`);
    expect(script).toMatch(/^PULL_POLICY='missing'$/m);
  });
});
