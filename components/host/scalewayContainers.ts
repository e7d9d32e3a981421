import { ManagedAccessories } from "../accessories/managedAccessories";
import * as pulumi from "@pulumi/pulumi";
import * as scaleway from "@pulumiverse/scaleway";
import { DnsConfig, ScalewayContainerHostConfig, ServiceConfig, StackConfigOf } from "../config/schema";
import { ManagedDatabase } from "../database/managed";
import { relativeName } from "../dns/records";
import { PrivateNetwork } from "../network/privateNetwork";
import { PromotedImages, RegistryImages, scalewayPushKey } from "../registry/images";
import { Publish } from "../runtime/runtime";
import { serviceEnvironment } from "../serviceEnv";
import { EnvironmentHost, HostArgs, HostDatabase, HostOutputs, Machine, PUBLIC_EDGE } from "./host";

/** Liveness: a running instance failing its health path this many times in a row, 10 s apart, is restarted. */
const LIVENESS = { intervalSeconds: 10, failureThreshold: 3 } as const;

export interface ScalewayContainersHostArgs {
  /** The validated `permacoop:host` config. */
  readonly host: ScalewayContainerHostConfig;
  /** The validated `permacoop:services`. */
  readonly services: readonly ServiceConfig[];
  /** The validated `permacoop:dns` config (provider `scaleway`: the schema requires it here). */
  readonly dns: DnsConfig;
  /** Environment (stack) name, used for names and tags. */
  readonly environment: string;
  /** Secret environment variables per service name (its secretEnv values and DATABASE_*). */
  readonly secretEnv: Readonly<Record<string, pulumi.Input<Record<string, string>>>>;
  /** Private Network the containers join to reach the database. */
  readonly privateNetworkId: pulumi.Input<string>;
  /** Scaleway API secret key, to push built images (required when a service has `build`). */
  readonly registrySecretKey?: pulumi.Input<string>;
  /** Pulled images resolved to their digest (`resolveServiceImages`), by service name. Default none. */
  readonly resolvedImages?: Readonly<Record<string, string>>;
}

/** Resolved settings of one service's container: the host-level values with its overrides. */
export interface ContainerPlan {
  readonly service: ServiceConfig;
  readonly hostnames: readonly string[];
  readonly minScale: number;
  readonly maxScale: number;
  readonly cpuLimit: number;
  readonly memoryLimitMb: number;
}

/**
 * Which hostnames and limits each service gets: the hostnames a service lists in
 * `host.services.<name>.hostnames`, and for the first service every hostname nobody lists.
 * The schema has already refused hostnames listed twice and routes other than "/".
 */
export function containerPlans(host: ScalewayContainerHostConfig, services: readonly ServiceConfig[], hostnames: readonly string[]): ContainerPlan[] {
  const listed = new Set(Object.values(host.services).flatMap((settings) => settings.hostnames ?? []));
  return services.map((service, i) => {
    const settings = host.services[service.name] ?? {};
    return {
      service,
      hostnames: [...(settings.hostnames ?? []), ...(i === 0 ? hostnames.filter((name) => !listed.has(name)) : [])],
      minScale: settings.minScale ?? host.minScale,
      maxScale: settings.maxScale ?? host.maxScale,
      cpuLimit: settings.cpuLimit ?? host.cpuLimit,
      memoryLimitMb: settings.memoryLimitMb ?? host.memoryLimitMb,
    };
  });
}

/**
 * Scaleway Serverless Containers: one container per service in a namespace of the environment,
 * scaled by the platform between min and max instances, HTTPS only, on the environment's Private
 * Network (the database has no public endpoint). Images come by digest: built and pushed to the
 * environment's registry, shipped from another stack (`fromStack`), or pinned in config. Each
 * hostname is a CNAME to its service's container domain, bound to the container (the platform
 * issues its certificate); the binding waits for the record, which the platform checks.
 */
export class ScalewayContainersHost extends pulumi.ComponentResource {
  /** Image each service runs (by digest when built, promoted or pinned). */
  public readonly images: pulumi.Output<Record<string, string>>;
  /** The platform's own domain of each service's container (`….functions.fnc.<region>.scw.cloud`). */
  public readonly domains: Record<string, pulumi.Output<string>> = {};
  public readonly namespace: scaleway.containers.Namespace;
  public readonly containers: Record<string, scaleway.containers.Container> = {};
  /** Built images and their registry, when a service has `build`. */
  public readonly registry?: RegistryImages;

  constructor(name: string, args: ScalewayContainersHostArgs, opts?: pulumi.ComponentResourceOptions) {
    super("permacoop:index:ScalewayContainersHost", name, {}, opts);
    const { host, services, dns, environment } = args;
    const zone = dns.zone;
    if (dns.provider !== "scaleway" || !zone) throw new Error(`${name}: unreachable: the schema requires Scaleway DNS for serverless containers`);
    const tags = ["permacoop", `env:${environment}`];

    const built = services.filter((service) => service.build);
    if (built.length > 0) {
      if (args.registrySecretKey === undefined) {
        throw new Error(
          `${name}: services ${built.map((s) => s.name).join(", ")} build an image, and pushing it needs the Scaleway secret key: export SCW_SECRET_KEY`,
        );
      }
      this.registry = new RegistryImages(
        `${name}-registry`,
        {
          environment,
          region: host.region,
          namespace: host.registryNamespace ?? `permacoop-${environment}`,
          services: built,
          secretKey: args.registrySecretKey,
        },
        { parent: this },
      );
    }
    const promoted = new PromotedImages(name, this);
    const imageOf = (service: ServiceConfig, i: number): pulumi.Output<string> => {
      if (service.build) return this.registry!.refs[service.name]!;
      if (service.fromStack) return promoted.image(service.fromStack, service.name, `permacoop:services[${i}].fromStack`);
      return pulumi.output(args.resolvedImages?.[service.name] ?? service.image);
    };

    this.namespace = new scaleway.containers.Namespace(
      `${name}-namespace`,
      { name: `permacoop-${environment}`, region: host.region, description: `The ${environment} environment (permacoop)`, tags },
      { parent: this },
    );

    const images: Record<string, pulumi.Output<string>> = {};
    containerPlans(host, services, dns.hostnames).forEach((plan, i) => {
      const { service } = plan;
      images[service.name] = imageOf(service, i);
      const secretEnv = args.secretEnv[service.name];
      if (secretEnv === undefined) throw new Error(`${name}: no secret environment for service ${service.name}`);
      const probe = (intervalSeconds: number, failureThreshold: number) => ({
        http: { path: service.healthPath },
        interval: `${intervalSeconds}s`,
        timeout: `${service.healthCheck.timeoutSeconds}s`,
        failureThreshold,
      });
      const container = new scaleway.containers.Container(
        `${name}-${service.name}`,
        {
          name: service.name,
          namespaceId: this.namespace.id,
          region: host.region,
          image: images[service.name],
          port: service.port,
          protocol: "http1",
          privacy: "public",
          // HTTPS only: plain HTTP is redirected (the provider's non-deprecated form of httpOption "redirected").
          httpsConnectionsOnly: true,
          minScale: plan.minScale,
          maxScale: plan.maxScale,
          cpuLimit: plan.cpuLimit,
          memoryLimitBytes: plan.memoryLimitMb * 1024 * 1024,
          environmentVariables: service.env,
          secretEnvironmentVariables: pulumi.secret(secretEnv),
          // A new version takes traffic once healthy within the deadline (the platform's rolling deploy).
          startupProbe: probe(service.healthCheck.intervalSeconds, Math.ceil(service.healthCheck.deadlineSeconds / service.healthCheck.intervalSeconds)),
          livenessProbe: probe(LIVENESS.intervalSeconds, LIVENESS.failureThreshold),
          privateNetworkId: args.privateNetworkId,
          tags,
        },
        { parent: this },
      );
      this.containers[service.name] = container;
      this.domains[service.name] = container.domainName;

      for (const hostname of plan.hostnames) {
        const label = relativeName(hostname, zone);
        const record = new scaleway.domain.Record(
          `${name}-${label.replace(/\./g, "-")}-cname`,
          { dnsZone: zone, name: label, type: "CNAME", data: pulumi.interpolate`${container.domainName}.`, ttl: dns.ttl },
          // A hostname has one record and one binding at a time: a replacement frees it first.
          { parent: this, deleteBeforeReplace: true },
        );
        new scaleway.containers.Domain(
          `${name}-${label.replace(/\./g, "-")}-domain`,
          { containerId: container.id, hostname, region: host.region },
          { parent: this, dependsOn: [record], deleteBeforeReplace: true },
        );
      }
    });
    this.images = pulumi.all(images);
    this.registerOutputs({ images: this.images, domains: this.domains });
  }
}

type ScalewayContainerConfig = StackConfigOf<"scaleway-container">;

/**
 * Host kind `scaleway-container`: a Private Network, the managed database on it (no public
 * endpoint), and the serverless containers, which get their secrets and DATABASE_* as secret
 * environment variables. No machine of ours: the platform routes, scales and serves TLS.
 */
export class ScalewayContainerHost implements EnvironmentHost {
  public readonly machines: readonly Machine[] = [];
  public readonly publish: Publish = PUBLIC_EDGE;
  public readonly database: HostDatabase;
  public readonly managedDatabase: ManagedDatabase;
  /** The accessories (`s3`, `redis`: the schema refuses others here), Scaleway's. */
  public readonly accessories?: ManagedAccessories;
  public readonly accessoryEnv?: pulumi.Output<Record<string, string>>;
  public readonly containers: ScalewayContainersHost;
  public readonly resources: readonly pulumi.Resource[];
  public readonly outputs: HostOutputs;

  constructor(name: string, args: HostArgs<ScalewayContainerConfig>) {
    const { config, parent } = args;
    const { host, database } = config;
    const registrySecretKey = scalewayPushKey(config.services);
    const network = new PrivateNetwork(`${name}-network`, { environment: args.environment, region: host.region }, { parent });
    this.managedDatabase = new ManagedDatabase(
      `${name}-db`,
      { database, environment: args.environment, privateNetworkId: network.id, protect: args.protectData },
      { parent },
    );
    this.database = { env: this.managedDatabase.env };
    if (config.accessories.length > 0) {
      this.accessories = new ManagedAccessories(
        `${name}-accessories`,
        {
          accessories: config.accessories,
          environment: args.environment,
          region: host.region,
          zone: `${host.region}-1`,
          privateNetworkId: network.id,
          protect: args.protectData,
        },
        { parent },
      );
      this.accessoryEnv = this.accessories.serviceEnv;
    }
    // The platform's secret variables: everything but the plain env.
    const secretEnv = Object.fromEntries(
      config.services.map((service) => [service.name, serviceEnvironment({ ...service, env: {} }, args.secrets, this.managedDatabase.env, this.accessoryEnv)]),
    );
    this.containers = new ScalewayContainersHost(
      `${name}-containers`,
      {
        host,
        services: config.services,
        dns: config.dns,
        environment: args.environment,
        secretEnv,
        privateNetworkId: network.id,
        registrySecretKey,
        resolvedImages: args.resolvedImages,
      },
      { parent },
    );
    this.resources = [this.containers, this.managedDatabase, ...(this.accessories ? [this.accessories] : [])];
    this.outputs = { host: { kind: host.kind }, images: this.containers.images };
  }
}
