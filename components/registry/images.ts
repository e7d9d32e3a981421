import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import * as scaleway from "@pulumiverse/scaleway";
import { registryLoginHost, ServiceConfig, StackConfig } from "../config/schema";
import { contextHash } from "../runtime/images";
import { byDigest, DIGEST_REF } from "./reference";

/** Serverless Containers run linux/amd64 images, whatever machine builds them. */
export const TARGET_PLATFORM = "linux/amd64";

/** The Scaleway API secret key (`scaleway:secretKey`, else SCW_SECRET_KEY), as a secret. */
function scalewaySecretKey(): pulumi.Output<string> | undefined {
  const configured = new pulumi.Config("scaleway").getSecret("secretKey");
  if (configured !== undefined) return configured;
  const fromEnv = process.env.SCW_SECRET_KEY;
  return fromEnv ? pulumi.secret(fromEnv) : undefined;
}

/**
 * The key that pushes `services`' built images to the Scaleway registry: undefined when none
 * builds; when one does and no key is set, the error says how to give it.
 */
export function scalewayPushKey(services: readonly Pick<ServiceConfig, "name" | "build">[]): pulumi.Output<string> | undefined {
  const building = services.filter((service) => service.build).map((service) => service.name);
  if (building.length === 0) return undefined;
  const key = scalewaySecretKey();
  if (key === undefined)
    throw new Error(
      `services ${building.join(", ")} build an image, and pushing it to the Scaleway registry needs the API secret key: export SCW_SECRET_KEY (or pulumi config set --secret scaleway:secretKey)`,
    );
  return key;
}

/** Host name of the Scaleway Container Registry of a region. */
export function registryHost(region: string): string {
  return `rg.${region}.scw.cloud`;
}

/** A registry login as the Docker provider takes it. */
export interface RegistryLogin {
  /** `host[:port]` (HTTPS), or `http://host:port` for a plain-HTTP registry (tests). */
  readonly address: string;
  readonly username: string;
  readonly password: pulumi.Input<string>;
}

/**
 * A Docker provider that logs in to `logins`. The passwords reach the provider as secrets: the
 * state keeps them encrypted, the output never shows them.
 */
export function registryProvider(name: string, logins: readonly RegistryLogin[], parent?: pulumi.Resource): docker.Provider {
  return new docker.Provider(name, { registryAuth: logins.map((login) => ({ ...login, password: pulumi.secret(login.password) })) }, { parent });
}

/** The stack's `registries` logins, each password from its secret key (the loader made sure each is set). */
export function stackRegistryLogins(config: Pick<StackConfig, "registries">, secrets: Readonly<Record<string, pulumi.Input<string>>>): RegistryLogin[] {
  return config.registries.map((r) => {
    const password = secrets[r.passwordSecret];
    if (password === undefined) throw new Error(`registries: no secret permacoop:${r.passwordSecret} for ${r.address}`);
    return { address: r.address, username: r.username, password };
  });
}

/** One image built locally and pushed, and its reference by digest. */
export interface PushedImage {
  readonly local: docker.RemoteImage;
  readonly pushed: docker.RegistryImage;
  /** `<repository>/<service>@sha256:<digest>`, the digest as the registry reports it. */
  readonly ref: pulumi.Output<string>;
}

/**
 * Builds `service` locally (for `TARGET_PLATFORM`, tagged with the hash of its build context) and
 * pushes it as `<repository>/<service>` through `provider`. An unchanged context changes nothing:
 * same tag, no rebuild, no push, same digest. The pushed image stays in the registry when
 * replaced (`keepRemotely`): rollbacks and stacks that ship it (`fromStack`) still pull it.
 */
export function pushImage(
  name: string,
  repository: pulumi.Input<string>,
  service: Pick<ServiceConfig, "name" | "build">,
  provider: docker.Provider,
  parent: pulumi.Resource,
): PushedImage {
  if (!service.build) throw new Error(`${name}: service ${service.name} has no build; only built images are pushed`);
  const { context, dockerfile } = service.build;
  const tag = pulumi.interpolate`${repository}/${service.name}:${contextHash(context)}`;
  const local = new docker.RemoteImage(
    `${name}-build`,
    { name: tag, build: { context, dockerfile, platform: TARGET_PLATFORM, tags: [tag] }, keepLocally: true },
    { parent, provider },
  );
  const pushed = new docker.RegistryImage(`${name}-push`, { name: local.name, keepRemotely: true, triggers: { imageId: local.imageId } }, { parent, provider });
  const ref = pulumi.all([pushed.name, pushed.sha256Digest]).apply(([pushedName, digest]) => byDigest(pushedName, digest));
  return { local, pushed, ref };
}

/**
 * The services with `build`, for a server elsewhere (`ssh`, `scaleway-vm`): each built here once
 * and pushed to `config.buildRegistry` (with its `registries` login, if any), addressed by digest
 * for the host to pull. `resources` are the pushes a rollout waits for.
 */
export function pushBuiltImages(
  name: string,
  config: Pick<StackConfig, "services" | "registries" | "buildRegistry">,
  secrets: Readonly<Record<string, pulumi.Input<string>>>,
  parent: pulumi.Resource,
): { refs: Record<string, pulumi.Output<string>>; resources: pulumi.Resource[] } {
  const building = config.services.filter((service) => service.build);
  if (building.length === 0) return { refs: {}, resources: [] };
  const repository = config.buildRegistry;
  if (repository === undefined) throw new Error(`${name}: services ${building.map((s) => s.name).join(", ")} build, and no buildRegistry receives them`);
  const registryHostPort = repository.split("/")[0]!;
  const logins = stackRegistryLogins(config, secrets).filter((login) => registryLoginHost(login.address) === registryHostPort);
  return pushImages(name, repository, building, registryProvider(`${name}-build-registry`, logins, parent), parent);
}

/** `pushImage` for each of `services`: their references by digest, and the pushes a rollout waits for. */
function pushImages(
  name: string,
  repository: pulumi.Input<string>,
  services: readonly Pick<ServiceConfig, "name" | "build">[],
  provider: docker.Provider,
  parent: pulumi.Resource,
): { refs: Record<string, pulumi.Output<string>>; resources: pulumi.Resource[] } {
  const refs: Record<string, pulumi.Output<string>> = {};
  const resources: pulumi.Resource[] = [];
  for (const service of services) {
    const pushed = pushImage(`${name}-${service.name}`, repository, service, provider, parent);
    refs[service.name] = pushed.ref;
    resources.push(pushed.pushed);
  }
  return { refs, resources };
}

export interface RegistryImagesArgs {
  /** Environment (stack) name, used for names. */
  readonly environment: string;
  /** Region of the registry. */
  readonly region: string;
  /** Registry namespace name (unique across Scaleway). */
  readonly namespace: string;
  /** Services with `build`: each is built here and pushed as `<namespace endpoint>/<service>`. */
  readonly services: readonly ServiceConfig[];
  /** Secret key of the Scaleway API (the registry's login is `nologin` + this key). */
  readonly secretKey: pulumi.Input<string>;
  /**
   * Also create a read-only login for the machines that pull (an IAM application allowed
   * `ContainerRegistryReadOnly` on the namespace's project, and its API key): a VM never holds
   * the operator's key. Default false (Serverless Containers pull on their own).
   */
  readonly pullLogin?: boolean;
}

/**
 * A private Container Registry namespace and the images of the services that build, each built
 * and pushed by `pushImage`; `refs` address them by digest.
 */
export class RegistryImages extends pulumi.ComponentResource {
  /** `<registry>/<namespace>`, e.g. `rg.fr-par.scw.cloud/permacoop-staging`. */
  public readonly endpoint: pulumi.Output<string>;
  /** Image by digest per built service name. */
  public readonly refs: Record<string, pulumi.Output<string>>;
  /** The pushes a rollout waits for. */
  public readonly pushes: pulumi.Resource[];
  /** The read-only login of the machines that pull (with `pullLogin`): `nologin` + the application's key, secret. */
  public readonly pull?: RegistryLogin;

  constructor(name: string, args: RegistryImagesArgs, opts?: pulumi.ComponentResourceOptions) {
    super("permacoop:index:RegistryImages", name, {}, opts);
    const notBuilt = args.services.find((service) => !service.build);
    if (notBuilt) throw new Error(`${name}: service ${notBuilt.name} has no build; only built images are pushed`);

    const namespace = new scaleway.registry.Namespace(
      `${name}-namespace`,
      { name: args.namespace, region: args.region, isPublic: false, description: `Images of the ${args.environment} environment (permacoop)` },
      { parent: this },
    );
    this.endpoint = namespace.endpoint;
    const provider = registryProvider(`${name}-docker`, [{ address: registryHost(args.region), username: "nologin", password: args.secretKey }], this);
    const pushed = pushImages(name, namespace.endpoint, args.services, provider, this);
    this.refs = pushed.refs;
    this.pushes = pushed.resources;
    if (args.pullLogin) {
      const application = new scaleway.iam.Application(
        `${name}-pull`,
        { name: `permacoop-${args.environment}-pull`, description: `Pulls the images of the ${args.environment} environment (permacoop)` },
        { parent: this },
      );
      new scaleway.iam.Policy(
        `${name}-pull`,
        {
          name: `permacoop-${args.environment}-pull`,
          description: "Read-only access to the environment's registry namespace",
          applicationId: application.id,
          rules: [{ projectIds: [namespace.projectId], permissionSetNames: ["ContainerRegistryReadOnly"] }],
        },
        { parent: this },
      );
      const key = new scaleway.iam.ApiKey(
        `${name}-pull`,
        { applicationId: application.id, description: `Image pulls of the ${args.environment} environment's machines` },
        { parent: this, additionalSecretOutputs: ["secretKey"] },
      );
      this.pull = { address: registryHost(args.region), username: "nologin", password: pulumi.secret(key.secretKey) };
    }
    this.registerOutputs({ endpoint: this.endpoint, refs: this.refs });
  }
}

/**
 * The image another stack exports for `service` (its `images` output), by digest: what promotion
 * ships. One StackReference per stack, shared by its services.
 */
export class PromotedImages {
  private readonly references = new Map<string, pulumi.StackReference>();

  constructor(
    private readonly name: string,
    private readonly parent: pulumi.Resource,
  ) {}

  /** `service`'s image in `stack`'s `images` output; fails with the fix when it is missing or not by digest. */
  image(stack: string, service: string, key: string): pulumi.Output<string> {
    let reference = this.references.get(stack);
    if (!reference) {
      reference = new pulumi.StackReference(`${this.name}-from-${stack.replace(/[^A-Za-z0-9-]/g, "-")}`, { name: stack }, { parent: this.parent });
      this.references.set(stack, reference);
    }
    return reference.getOutput("images").apply((images: unknown) => promotedRef(images, stack, service, key));
  }
}

/**
 * `service`'s entry in another stack's `images` output (`images`), checked: it must address the
 * image by digest, or promotion would not ship the same bytes. `key` is the config key to name.
 */
export function promotedRef(images: unknown, stack: string, service: string, key: string): string {
  const ref = typeof images === "object" && images !== null ? (images as Record<string, unknown>)[service] : undefined;
  if (typeof ref !== "string" || !DIGEST_REF.test(ref)) {
    throw new Error(
      `${key}: stack ${stack} exports no image by digest for service "${service}" (its images output has ${JSON.stringify(ref ?? null)}). ` +
        `Run pulumi up on ${stack} first, or pin the image instead: pulumi config rm --path '${key}' && pulumi config set --path '${key.replace(/fromStack$/, "image")}' <name>@sha256:<digest>`,
    );
  }
  return ref;
}
