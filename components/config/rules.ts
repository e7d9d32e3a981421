import { z } from "zod";
import { publicHealthPath } from "../proxy/maintenance";
import { DEFAULT_READ_TIMEOUT_SECONDS } from "../proxy/nginx";
import { switchPort } from "../runtime/switchPort";
import type { ConfigProblem } from "./load";
import { isDataProtected } from "./protection";
import { looksLikeCredential, SECRET_KEY_PATTERN } from "./secretLike";
import type { accessorySchema, databaseSchema, dnsSchema, HostConfig, hostSchema, jobSchema, serviceSchema, tlsSchema } from "./schema";

/**
 * The rules across keys of a stack's configuration, in one place: the schema runs them after
 * each key is valid on its own (`checkCrossKeyRules`), the loader adds those that need the stack's
 * name (`checkStackRules`), and the generated reference lists what each says (`CROSS_KEY_RULES`).
 * Every issue names the key to change and carries a fix that works when pasted.
 */

/** The parts of a stack's configuration the cross-key rules read. */
export interface StackView {
  readonly host: z.output<typeof hostSchema>;
  readonly database: z.output<typeof databaseSchema>;
  readonly dns: z.output<typeof dnsSchema>;
  readonly tls: z.output<typeof tlsSchema>;
  readonly services: readonly z.output<typeof serviceSchema>[];
  readonly jobs: readonly z.output<typeof jobSchema>[];
  readonly accessories: readonly z.output<typeof accessorySchema>[];
  readonly buildRegistry?: string;
}

/** What the rules say, one line each: docs/config.md lists them (tools/config-docs.ts). */
export const CROSS_KEY_RULES: readonly string[] = [
  "A `local`, `ssh` or `local-vm` host takes a `container` database (a managed database admits the Scaleway VM's address only).",
  "With `tls.enabled` (except on `scaleway-container`), `tls.email` is required: it is the ACME account.",
  "A `scaleway-vm` host is public: `dns.provider` is `scaleway` or `external`, not `none`.",
  "Each hostname of `dns.hostnames` is listed once.",
  "No TLS when a hostname is `localhost` (no ACME server issues a certificate for it): `tls.enabled` false.",
  "`host.httpPort` and `host.httpsPort` differ.",
  "An `ssh` host whose records this stack creates (`dns.provider` `scaleway`) is given by IP address, not by name.",
  "Service names are unique, and so are their switch ports (a hash of the name: two names that meet are refused, about one stack in 2,000).",
  "Routes are unique (except on `scaleway-container`, where every route is `/`).",
  "Job names are unique; each job's `service` is a service of the stack; no `jobs` on `scaleway-container`.",
  "Accessory names are unique, and so are the variables they hand to the services (`envPrefix`); no service sets one of them in `env` or `secretEnv`; no `DATABASE` prefix; a `generic` accessory's `env` holds no credential-looking value (use `passwordEnv`). On Scaleway hosts `s3` and `redis` accessories are Scaleway's (Object Storage, Managed Redis); a `generic` one is refused on `scaleway-container` (no host of ours) and on a `scaleway-vm` whose data is protected (its volume dies with the VM).",
  "A service with `build` on an `ssh` host needs `buildRegistry` (a `scaleway-vm` host pushes to a Scaleway registry namespace of its own unless `buildRegistry` says otherwise).",
  "On `scaleway-container`: no `release`, `readTimeoutSeconds` or `clientMaxBodySize` (no edge of ours: the platform's limits apply), `replicas` 1 (the platform scales: `minScale`); a `scaleway-managed` database in the host's region; `dns.provider` `scaleway` with no hostname at the zone apex; TLS on; `minScale` at most `maxScale` (host and per service); `host.services` names real services and lists each hostname of `dns.hostnames` under one service at most; every route is `/`.",
  "Per service: no secret-looking name or credential-looking value in `env` (use `secretEnv`); no `DATABASE_*` in `env` or `secretEnv` (the program provides them); no variable in both `env` and `secretEnv`; `stripPrefix` only with a `route` other than `/`; health-check `timeoutSeconds` and `intervalSeconds` at most `deadlineSeconds`.",
  "On a stack whose data is protected (`prod` by default, or `database.protect`), a `scaleway-vm` host takes a `scaleway-managed` database (a container database dies with the VM).",
  "Every secret a service's `secretEnv` or a registry's `passwordSecret` names is set, with `--secret`; a secret nothing uses is refused; `sshPrivateKey` is set on an `ssh` host only; `databasePassword` with an `external` database only.",
  "An `ssh` host gives either `address` with its `hostKey` (one server) or `hosts` (several), not both.",
  "Several hosts (`host.count` above 1, several `host.hosts`) share one database and their accessories: a `container` database or a container accessory (one per host) is refused; several `ssh` servers whose records this stack creates need `host.loadBalancerAddress` (no DNS round robin: it keeps sending clients to a dead server until the records' TTL ends).",
  "An `external` database is for `ssh` hosts.",
];

/** One server of an `ssh` host, its port and user resolved. */
export interface SshServer {
  readonly address: string;
  readonly port: number;
  readonly user: string;
  readonly hostKey: string;
}

/** The servers of an `ssh` host: `hosts`, or the one of `address`; each server's port and user default to the host's. */
export function sshServers(host: Extract<HostConfig, { kind: "ssh" }>): SshServer[] {
  if (host.hosts)
    return host.hosts.map((server) => ({ address: server.address, hostKey: server.hostKey, port: server.port ?? host.port, user: server.user ?? host.user }));
  if (host.address === undefined || host.hostKey === undefined) throw new Error("host.kind ssh: no address (the configuration was not validated)");
  return [{ address: host.address, hostKey: host.hostKey, port: host.port, user: host.user }];
}

/** A server's stable part of its resource names: its address (and port when not 22), in letters, digits and dashes. */
export function sshServerKey(server: SshServer): string {
  return `${server.address.replace(/[^A-Za-z0-9]+/g, "-").replace(/^-|-$/g, "")}${server.port === 22 ? "" : `-${server.port}`}`;
}

/** How many machines run the environment's Docker runtime (the platform's containers count none). */
export function hostCount(host: HostConfig): number {
  if (host.kind === "scaleway-vm") return host.count;
  if (host.kind === "ssh") return host.hosts?.length ?? 1;
  return host.kind === "scaleway-container" ? 0 : 1;
}

/** The rules that need the stack's name (its data protected by default on `prod`). */
export function checkStackRules(stack: string, config: StackView & { readonly database: { readonly protect?: boolean } }): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  config.accessories.forEach((accessory, i) => {
    if (config.host.kind === "scaleway-vm" && accessory.type === "generic" && isDataProtected(config.database, stack))
      problems.push({
        key: `permacoop:accessories[${i}].type`,
        expected: `"s3" or "redis" on stack ${stack}, whose data is protected by default (Scaleway runs those; a generic accessory's volume dies with the VM)`,
        found: '"generic"',
        fix: `pulumi config rm --path 'permacoop:accessories[${i}]'   # or, for throwaway data: pulumi config set --path 'permacoop:database.protect' false`,
      });
  });
  if (config.host.kind === "scaleway-vm" && config.database.kind === "container" && isDataProtected(config.database, stack)) {
    return [
      ...problems,
      {
        key: "permacoop:database.kind",
        expected: `"scaleway-managed" on stack ${stack}, whose data is protected by default (a container database dies with the VM)`,
        found: '"container"',
        fix: "pulumi config set --path 'permacoop:database.kind' scaleway-managed   # or, for throwaway data: pulumi config set --path 'permacoop:database.protect' false",
      },
    ];
  }
  return problems;
}

/** The parts of a service the rules within it read (written out: the service schema refers to its rules). */
export interface ServiceView {
  readonly route: string;
  readonly stripPrefix: boolean;
  readonly env: Readonly<Record<string, string>>;
  readonly secretEnv: Readonly<Record<string, string>>;
  readonly healthCheck: { readonly intervalSeconds: number; readonly timeoutSeconds: number; readonly deadlineSeconds: number };
}

/** The rules within one service, as its schema's refinement. */
export function checkServiceRules(service: ServiceView, ctx: z.RefinementCtx): void {
  for (const name of Object.keys(service.env)) {
    if (SECRET_KEY_PATTERN.test(name.replace(/_/g, "")) || looksLikeCredential(service.env[name]!)) {
      ctx.addIssue({
        code: "custom",
        path: ["env", name],
        message: "expected no secret in plain env: move it to secretEnv and set the value with --secret",
        input: service.env[name],
        params: { rule: "secret-in-env" },
      });
    }
    if (name.startsWith("DATABASE_")) {
      ctx.addIssue({
        code: "custom",
        path: ["env", name],
        message: "expected no DATABASE_* variable: the program provides them from the database it manages",
        input: service.env[name],
      });
    }
  }
  for (const name of Object.keys(service.secretEnv)) {
    if (name.startsWith("DATABASE_"))
      ctx.addIssue({
        code: "custom",
        path: ["secretEnv", name],
        message: "expected no DATABASE_* variable: the program provides them from the database it manages (its value would win over this one)",
        input: service.secretEnv[name],
      });
    if (name in service.env)
      ctx.addIssue({
        code: "custom",
        path: ["secretEnv", name],
        message: `expected a variable not also in env (env.${name} sets it too: one of them would be silently lost)`,
        input: service.secretEnv[name],
      });
  }
  if (service.stripPrefix && service.route === "/")
    ctx.addIssue({
      code: "custom",
      path: ["stripPrefix"],
      message: "expected false with route / (there is no prefix to strip; give the service a route such as /kit/ to strip it)",
      input: service.stripPrefix,
      params: { value: "false" },
    });
  const { intervalSeconds, timeoutSeconds, deadlineSeconds } = service.healthCheck;
  // Only against a deadline that is itself valid (its own rule reports it otherwise).
  const validDeadline = Number.isInteger(deadlineSeconds) && deadlineSeconds > 0;
  if (validDeadline && timeoutSeconds > deadlineSeconds)
    ctx.addIssue({
      code: "custom",
      path: ["healthCheck", "timeoutSeconds"],
      message: `expected at most healthCheck.deadlineSeconds (${deadlineSeconds}): one probe could outlast the deadline`,
      input: timeoutSeconds,
      params: { value: deadlineSeconds },
    });
  if (validDeadline && intervalSeconds > deadlineSeconds)
    ctx.addIssue({
      code: "custom",
      path: ["healthCheck", "intervalSeconds"],
      message: `expected at most healthCheck.deadlineSeconds (${deadlineSeconds}): no second probe would run before the deadline`,
      input: intervalSeconds,
      params: { value: Math.min(1, deadlineSeconds) },
    });
}

/** The stack-level rules, as the schema's refinement. */
export function checkCrossKeyRules(config: StackView, ctx: z.RefinementCtx): void {
  if ((config.host.kind === "local" || config.host.kind === "ssh" || config.host.kind === "local-vm") && config.database.kind === "scaleway-managed") {
    ctx.addIssue({
      code: "custom",
      path: ["database", "kind"],
      message: `expected "container" on a ${config.host.kind} host (a managed database admits the Scaleway VM's address only)`,
      input: config.database.kind,
    });
  }
  // The ACME account; serverless containers get their certificates from the platform instead.
  if (config.tls.enabled && !config.tls.email && config.host.kind !== "scaleway-container") {
    ctx.addIssue({
      code: "custom",
      path: ["tls", "email"],
      message: "expected an ACME account e-mail (required when tls.enabled is true)",
      input: undefined,
    });
  }
  if (config.host.kind === "scaleway-vm" && config.dns.provider === "none") {
    ctx.addIssue({ code: "custom", path: ["dns", "provider"], message: 'expected "scaleway" or "external" for a public host', input: config.dns.provider });
  }
  refineEdge(config, ctx);
  const seen = new Map<string, number>();
  const routes = new Map<string, number>();
  const ports = new Map<number, string>();
  config.services.forEach((service, i) => {
    if (seen.has(service.name))
      ctx.addIssue({
        code: "custom",
        path: ["services", i, "name"],
        message: `expected a unique service name (services[${seen.get(service.name)}] is also "${service.name}")`,
        input: service.name,
      });
    // Serverless Containers route by hostname: every service there is at "/" (checked below).
    if (config.host.kind !== "scaleway-container" && routes.has(service.route))
      ctx.addIssue({
        code: "custom",
        path: ["services", i, "route"],
        message: `expected a unique route (services[${routes.get(service.route)}] also routes "${service.route}")`,
        input: service.route,
      });
    const port = switchPort(service.name);
    if (ports.has(port) && ports.get(port) !== service.name)
      ctx.addIssue({
        code: "custom",
        path: ["services", i, "name"],
        message: `expected a name whose switch port differs from service "${ports.get(port)}"'s (both hash to ${port}; about one stack in 2,000 meets this): rename this service`,
        input: service.name,
        params: { fix: `pulumi config set --path 'permacoop:services[${i}].name' ${service.name.length < 30 ? `${service.name}-1` : "svc"}` },
      });
    ports.set(port, service.name);
    seen.set(service.name, i);
    routes.set(service.route, i);
  });
  refineJobs(config, ctx);
  refineAccessories(config, ctx);
  refineServerlessContainers(config, ctx);
  refineSeveralHosts(config, ctx);
}

/** One server or several (`ssh`), and what several hosts must share: the database, the accessories, one address for DNS. */
function refineSeveralHosts(config: StackView, ctx: z.RefinementCtx): void {
  const { host, database, dns } = config;
  const issue = (path: PropertyKey[], message: string, input: unknown, fix: string) => ctx.addIssue({ code: "custom", path, message, input, params: { fix } });
  if (database.kind === "external" && host.kind !== "ssh")
    issue(
      ["database", "kind"],
      `expected "${host.kind === "scaleway-vm" || host.kind === "scaleway-container" ? "scaleway-managed" : "container"}" on a ${host.kind} host (an external database is for ssh hosts)`,
      database.kind,
      `pulumi config rm permacoop:database && pulumi config set --path 'permacoop:database.kind' ${host.kind === "scaleway-vm" || host.kind === "scaleway-container" ? "scaleway-managed" : "container"}`,
    );
  if (host.kind === "ssh") {
    if (host.hosts && (host.address !== undefined || host.hostKey !== undefined))
      issue(
        ["host", host.address !== undefined ? "address" : "hostKey"],
        "expected either address and hostKey (one server) or hosts (several), not both",
        host.address ?? "(a host key)",
        `pulumi config rm --path 'permacoop:host.address' && pulumi config rm --path 'permacoop:host.hostKey'`,
      );
    if (!host.hosts && host.address === undefined)
      issue(
        ["host", "address"],
        "expected the server's IP address or DNS name (or, for several servers, host.hosts)",
        undefined,
        `pulumi config set --path 'permacoop:host.address' <the server's address>`,
      );
    if (!host.hosts && host.address !== undefined && host.hostKey === undefined)
      issue(
        ["host", "hostKey"],
        "expected the server's SSH host public key, pinned (ssh-keyscan it once, check it out of band)",
        undefined,
        `pulumi config set --path 'permacoop:host.hostKey' "$(ssh-keyscan -t ed25519 ${host.address} 2>/dev/null | cut -d' ' -f2-)"`,
      );
    const seen = new Map<string, number>();
    (host.hosts ?? []).forEach((server, i) => {
      // Each edge asks the others for ACME challenges by address (nginx resolves names once, in its container).
      if (config.tls.enabled && (host.hosts?.length ?? 0) > 1 && !isIpAddress(server.address))
        issue(
          ["host", "hosts", i, "address"],
          "expected an IP address with TLS on several servers (each server asks the others for ACME challenges at their address)",
          server.address,
          `pulumi config set --path 'permacoop:host.hosts[${i}].address' <the server's IP address>`,
        );
      const key = `${server.address}:${server.port ?? host.port}`;
      const earlier = seen.get(key);
      if (earlier !== undefined)
        issue(
          ["host", "hosts", i, "address"],
          `expected a server listed once (host.hosts[${earlier}] is also ${key})`,
          server.address,
          `pulumi config rm --path 'permacoop:host.hosts[${i}]'`,
        );
      else seen.set(key, i);
    });
  }
  const count = hostCount(host);
  if (count < 2) return;
  if (database.kind === "container")
    issue(
      ["database", "kind"],
      `expected a database every host shares (${host.kind === "scaleway-vm" ? '"scaleway-managed"' : '"external"'}): a container database would be one per host, each with its own data`,
      database.kind,
      host.kind === "scaleway-vm"
        ? "pulumi config set --path 'permacoop:host.count' 1   # or a database they share: pulumi config rm permacoop:database && pulumi config set --path 'permacoop:database.kind' scaleway-managed"
        : "pulumi config rm permacoop:database && pulumi config set --path 'permacoop:database.kind' external && pulumi config set --path 'permacoop:database.host' <the database server's address> && pulumi config set --secret permacoop:databasePassword",
    );
  containerAccessories(config).forEach((accessory, i) => {
    const index = config.accessories.indexOf(accessory);
    issue(
      ["accessories", index >= 0 ? index : i, "type"],
      `expected no container accessory with several hosts: "${accessory.name}" would be one per host, each with its own data${host.kind === "scaleway-vm" ? " (s3 and redis are Scaleway's there)" : ""}`,
      accessory.type,
      `pulumi config rm --path 'permacoop:accessories[${index >= 0 ? index : i}]'`,
    );
  });
  if (
    host.kind === "scaleway-vm" &&
    !config.services.some((service) => publicHealthPath({ prefix: service.route, stripPrefix: service.stripPrefix }, service.healthPath) !== undefined)
  )
    issue(
      ["services", 0, "healthPath"],
      `expected a health path the Load Balancer reaches through the edge: under its service's route (${config.services[0]!.route}), or the route stripped`,
      config.services[0]!.healthPath,
      `pulumi config set --path 'permacoop:services[0].healthPath' ${config.services[0]!.route}healthz`,
    );
  if (host.kind === "ssh" && dns.provider !== "none" && host.loadBalancerAddress === undefined)
    issue(
      ["host", "loadBalancerAddress"],
      "expected the public IPv4 address of the load balancer in front of host.hosts: the DNS records point at it (several A records, DNS round robin, would keep sending clients to a dead server until their TTL ends)",
      undefined,
      "pulumi config set --path 'permacoop:host.loadBalancerAddress' <your load balancer's public IPv4 address>",
    );
}

/** Each item of list `key` has a name of its own; the fix renames a later one (`<name>-2`, within `maxLength`). */
function requireUniqueNames(key: string, what: string, items: readonly { readonly name: string }[], maxLength: number, ctx: z.RefinementCtx): void {
  const first = new Map<string, number>();
  items.forEach(({ name }, i) => {
    const earlier = first.get(name);
    if (earlier === undefined) first.set(name, i);
    else
      ctx.addIssue({
        code: "custom",
        path: [key, i, "name"],
        message: `expected a unique ${what} name (${key}[${earlier}] is also "${name}")`,
        input: name,
        params: { fix: `pulumi config set --path 'permacoop:${key}[${i}].name' ${name.length <= maxLength - 2 ? `${name}-2` : `${what.slice(0, 3)}-2`}` },
      });
  });
}

/** Whether the platform runs an accessory (a Scaleway host: Object Storage, Managed Redis) rather than a container of ours. */
export function isManagedAccessory(hostKind: HostConfig["kind"], accessory: z.output<typeof accessorySchema>): boolean {
  return (hostKind === "scaleway-vm" || hostKind === "scaleway-container") && accessory.type !== "generic";
}

/** The accessories the host runtime runs in containers (the others are the platform's). */
export function containerAccessories<A extends z.output<typeof accessorySchema>>(config: {
  readonly host: { readonly kind: HostConfig["kind"] };
  readonly accessories: readonly A[];
}): A[] {
  return config.accessories.filter((accessory) => !isManagedAccessory(config.host.kind, accessory));
}

/** The prefix of the variables the services receive from an accessory (its `envPrefix`, or its name in upper case). */
export function accessoryEnvPrefix(accessory: z.output<typeof accessorySchema>): string {
  return accessory.envPrefix ?? accessory.name.toUpperCase().replace(/-/g, "_");
}

/** The variables an accessory may hand to every service (a container Redis has no CA to hand). */
export function accessoryVariables(accessory: z.output<typeof accessorySchema>): string[] {
  const prefix = accessoryEnvPrefix(accessory);
  const names =
    accessory.type === "s3"
      ? ["ENDPOINT", "BUCKET", "ACCESS_KEY_ID", "SECRET_ACCESS_KEY", "REGION"]
      : accessory.type === "redis"
        ? ["URL", "CA_CERT_BASE64"]
        : ["HOST", "PORT", ...(accessory.passwordEnv ? ["PASSWORD"] : [])];
  return names.map((name) => `${prefix}_${name}`);
}

/** Accessories: unique names and variables, none a service sets itself; Docker hosts only. */
function refineAccessories(config: StackView, ctx: z.RefinementCtx): void {
  const issue = (path: PropertyKey[], message: string, input: unknown, fix: string) => ctx.addIssue({ code: "custom", path, message, input, params: { fix } });
  const variables = new Map<string, number>();
  config.accessories.forEach((accessory, i) => {
    if (config.host.kind === "scaleway-container" && accessory.type === "generic")
      issue(
        ["accessories", i, "type"],
        'expected "s3" or "redis" on a scaleway-container host (Scaleway runs those; no host of ours runs a generic one\'s container)',
        accessory.type,
        `pulumi config rm --path 'permacoop:accessories[${i}]'`,
      );
    // Within the prefix's 31 characters: the name's (up to 32) shortened, then the item's number.
    const prefixFix = `pulumi config set --path 'permacoop:accessories[${i}].envPrefix' ${accessory.name.toUpperCase().replace(/-/g, "_").slice(0, 27)}_${i + 2}`;
    const own = accessoryVariables(accessory);
    if (own.some((name) => name.startsWith("DATABASE_")))
      issue(["accessories", i, "envPrefix"], "expected a prefix other than DATABASE (the database's variables use it)", accessory.envPrefix, prefixFix);
    const clash = own.find((name) => variables.has(name));
    if (clash !== undefined)
      issue(
        ["accessories", i, "envPrefix"],
        `expected variables of its own (accessories[${variables.get(clash)}] hands ${clash} to the services too): give this one another envPrefix`,
        accessory.envPrefix,
        prefixFix,
      );
    for (const name of own) variables.set(name, i);
    if (accessory.type === "generic")
      for (const [name, value] of Object.entries(accessory.env))
        if (SECRET_KEY_PATTERN.test(name.replace(/_/g, "")) || looksLikeCredential(value))
          issue(
            ["accessories", i, "env", name],
            "expected no secret in an accessory's plain env: name the variable in passwordEnv, and the program generates its value",
            value,
            `pulumi config rm --path 'permacoop:accessories[${i}].env.${name}' && pulumi config set --path 'permacoop:accessories[${i}].passwordEnv' ${name}`,
          );
  });
  requireUniqueNames("accessories", "accessory", config.accessories, 32, ctx);
  config.services.forEach((service, s) => {
    for (const field of ["env", "secretEnv"] as const)
      for (const name of Object.keys(service[field]))
        if (variables.has(name))
          issue(
            ["services", s, field, name],
            `expected no ${name}: accessories[${variables.get(name)}] hands it to every service (its value would be lost)`,
            service[field][name],
            `pulumi config rm --path 'permacoop:services[${s}].${field}.${name}'`,
          );
  });
}

/** Jobs: unique names, each naming a service of the stack; Docker hosts only (a host's crontab runs them). */
function refineJobs(config: StackView, ctx: z.RefinementCtx): void {
  const issue = (path: PropertyKey[], message: string, input: unknown, fix: string) => ctx.addIssue({ code: "custom", path, message, input, params: { fix } });
  const services = config.services.map((s) => s.name);
  // Only valid names are ever shown: a bad one may be a secret pasted in the wrong key.
  const valid = services.filter((name) => /^[a-z][a-z0-9-]{0,30}$/.test(name));
  config.jobs.forEach((job, i) => {
    if (config.host.kind === "scaleway-container")
      issue(
        ["jobs", i],
        "expected no jobs on a scaleway-container host (no host of ours runs a schedule there); run it from a Scaleway VM stack, or as a Scaleway Serverless Job",
        job.name,
        "pulumi config rm permacoop:jobs",
      );
    // The fix names a service whose name is valid (a service with a bad name has its own problem).
    const named = valid[0];
    if (!services.includes(job.service))
      issue(
        ["jobs", i, "service"],
        valid.length ? `expected one of this stack's services (${valid.join(", ")})` : "expected one of this stack's services",
        job.service,
        // No service of a valid name yet: the jobs wait until the services are fixed.
        named ? `pulumi config set --path 'permacoop:jobs[${i}].service' ${named}` : "pulumi config rm permacoop:jobs",
      );
  });
  requireUniqueNames("jobs", "job", config.jobs, 31, ctx);
}

/**
 * What the edge of a Docker host can serve: distinct hostnames, a certificate only for names an
 * ACME server can validate, distinct HTTP and HTTPS ports, and DNS records only for an address.
 */
function refineEdge(config: StackView, ctx: z.RefinementCtx): void {
  const { host, dns, tls } = config;
  const issue = (path: PropertyKey[], message: string, input: unknown, fix: string) => ctx.addIssue({ code: "custom", path, message, input, params: { fix } });
  const first = new Map<string, number>();
  dns.hostnames.forEach((name, i) => {
    if (first.has(name))
      issue(
        ["dns", "hostnames", i],
        `expected a hostname listed once (dns.hostnames[${first.get(name)}] is also ${name})`,
        name,
        `pulumi config set --path 'permacoop:dns.hostnames' '${JSON.stringify([...new Set(dns.hostnames)])}'`,
      );
    else first.set(name, i);
  });
  if (host.kind === "scaleway-container") return;
  const localhost = dns.hostnames.indexOf("localhost");
  if (tls.enabled && localhost >= 0)
    issue(
      ["tls", "enabled"],
      "expected false when a hostname is localhost (no ACME server issues a certificate for it)",
      true,
      "pulumi config set --path 'permacoop:tls.enabled' false",
    );
  if ((host.kind === "local" || host.kind === "ssh") && host.httpPort === host.httpsPort)
    issue(
      ["host", "httpsPort"],
      `expected a port other than host.httpPort (${host.httpPort}): HTTP and HTTPS cannot share it`,
      host.httpsPort,
      `pulumi config set --path 'permacoop:host.httpsPort' ${host.httpPort === 443 ? 8443 : 443}`,
    );
  if (host.kind === "ssh" && dns.provider === "scaleway" && host.address !== undefined && host.hosts === undefined && !isIpAddress(host.address))
    issue(
      ["host", "address"],
      "expected the server's IP address when dns.provider is scaleway (the records this stack creates point at an address, not a name)",
      host.address,
      `pulumi config set --path 'permacoop:host.address' <the server's IPv4 address>   # or: pulumi config set --path 'permacoop:dns.provider' external`,
    );
}

function isIpAddress(address: string): boolean {
  return z.union([z.ipv4(), z.ipv6()]).safeParse(address).success;
}

/**
 * Whether a host kind runs images built on this machine through a registry (`buildRegistry`):
 * a server elsewhere. This machine's engine (`local`) runs them as built; `local-vm` loads them.
 */
export function pushesBuilds(kind: HostConfig["kind"]): boolean {
  return kind === "ssh" || kind === "scaleway-vm";
}

/**
 * What host kind `scaleway-container` can honour: a managed database in its region, DNS in a
 * Scaleway zone (CNAMEs), HTTPS, one hostname → one service (the platform routes by hostname,
 * not by path), and no release phase; and no `build` for a server elsewhere (`ssh`, `scaleway-vm`).
 * Each issue carries its own fix.
 */
function refineServerlessContainers(config: StackView, ctx: z.RefinementCtx): void {
  const { host, database, dns, tls, services } = config;
  const issue = (path: PropertyKey[], message: string, input: unknown, fix: string) => ctx.addIssue({ code: "custom", path, message, input, params: { fix } });
  // Built here, an image reaches a server elsewhere through a registry only (a Scaleway VM has its own by default).
  if (host.kind === "ssh" && config.buildRegistry === undefined) {
    const example = "ghcr.io/<org>";
    services.forEach((service, i) => {
      if (service.build)
        issue(
          ["services", i, "build"],
          `expected a buildRegistry with build on host.kind "${host.kind}" (an image built on this machine reaches the server through a registry: set buildRegistry, and its login in registries if it needs one)`,
          service.build.context,
          `pulumi config set permacoop:buildRegistry ${example}   # or pin a pushed image: pulumi config rm --path 'permacoop:services[${i}].build'`,
        );
    });
  }
  if (host.kind !== "scaleway-container") return;
  services.forEach((service, i) => {
    // The edge's limits per route: the platform has its own, and no edge of ours in front.
    if (service.readTimeoutSeconds !== DEFAULT_READ_TIMEOUT_SECONDS)
      issue(
        ["services", i, "readTimeoutSeconds"],
        `expected the default (${DEFAULT_READ_TIMEOUT_SECONDS}) on a scaleway-container host: requests reach the container through the platform, not through an edge of ours, so a read timeout per route cannot be honoured`,
        service.readTimeoutSeconds,
        `pulumi config rm --path 'permacoop:services[${i}].readTimeoutSeconds'`,
      );
    if (service.replicas !== 1)
      issue(
        ["services", i, "replicas"],
        "expected 1 on a scaleway-container host: the platform scales the containers itself",
        service.replicas,
        `pulumi config rm --path 'permacoop:services[${i}].replicas' && pulumi config set --path 'permacoop:host.services.${service.name}.minScale' ${service.replicas}`,
      );
    if (service.clientMaxBodySize !== undefined)
      issue(
        ["services", i, "clientMaxBodySize"],
        "expected none on a scaleway-container host: requests reach the container through the platform, whose own body limit applies, not through an edge of ours",
        service.clientMaxBodySize,
        `pulumi config rm --path 'permacoop:services[${i}].clientMaxBodySize'`,
      );
    if (service.release)
      issue(
        ["services", i, "release"],
        'expected no release on a scaleway-container host (the platform starts the new version itself: no step runs before it takes traffic); run the migration at the start of the image, or use host.kind "scaleway-vm"',
        service.release.command,
        `pulumi config rm --path 'permacoop:services[${i}].release'`,
      );
  });
  if (database.kind !== "scaleway-managed") {
    issue(
      ["database", "kind"],
      'expected "scaleway-managed" on a scaleway-container host (serverless containers have no disk and no host to run PostgreSQL on)',
      database.kind,
      `pulumi config set --path 'permacoop:database.kind' scaleway-managed && pulumi config rm --path 'permacoop:database.image'`,
    );
  } else if (database.region !== host.region) {
    issue(
      ["database", "region"],
      `expected "${host.region}", the host's region (the containers reach the database over a regional Private Network)`,
      database.region,
      `pulumi config set --path 'permacoop:database.region' ${host.region}`,
    );
  }
  const zone = dns.zone ?? "example.org";
  if (dns.provider !== "scaleway") {
    issue(
      ["dns", "provider"],
      'expected "scaleway" on a scaleway-container host (each hostname is a CNAME to a domain the platform names when it creates the container, and the platform checks that CNAME before it serves the hostname)',
      dns.provider,
      `pulumi config set --path 'permacoop:dns.provider' scaleway && pulumi config set --path 'permacoop:dns.zone' ${zone}`,
    );
  } else {
    dns.hostnames.forEach((name, i) => {
      if (name === dns.zone)
        issue(
          ["dns", "hostnames", i],
          `expected a name below the zone ${zone} (the zone apex cannot be a CNAME)`,
          name,
          `pulumi config set --path 'permacoop:dns.hostnames[${i}]' www.${zone}`,
        );
    });
  }
  if (!tls.enabled) {
    issue(
      ["tls", "enabled"],
      "expected true on a scaleway-container host (the platform serves HTTPS only, with its own certificates)",
      tls.enabled,
      "pulumi config rm --path 'permacoop:tls.enabled'",
    );
  }
  if (host.minScale > host.maxScale) {
    issue(
      ["host", "minScale"],
      `expected at most maxScale (${host.maxScale})`,
      host.minScale,
      `pulumi config set --path 'permacoop:host.minScale' ${host.maxScale}`,
    );
  }
  const names = services.map((service) => service.name);
  const claimedBy = new Map<string, string>();
  for (const [name, settings] of Object.entries(host.services)) {
    if (!names.includes(name)) {
      issue(
        ["host", "services", name],
        `expected the name of a service in permacoop:services (${names.join(", ")})`,
        name,
        `pulumi config rm --path 'permacoop:host.services.${name}'`,
      );
    }
    (settings.hostnames ?? []).forEach((hostname, j) => {
      const path = ["host", "services", name, "hostnames", j];
      if (!dns.hostnames.includes(hostname)) {
        issue(
          path,
          `expected one of dns.hostnames (${dns.hostnames.join(", ")}): the DNS records cover those only`,
          hostname,
          `pulumi config set --path 'permacoop:dns.hostnames[${dns.hostnames.length}]' ${hostname}`,
        );
      }
      const other = claimedBy.get(hostname);
      if (other !== undefined) {
        issue(
          path,
          `expected a hostname no other service lists (host.services.${other} lists ${hostname} too; the platform sends a hostname to one container)`,
          hostname,
          `pulumi config rm --path 'permacoop:host.services.${name}.hostnames[${j}]'`,
        );
      }
      claimedBy.set(hostname, name);
    });
    const min = settings.minScale ?? host.minScale;
    const max = settings.maxScale ?? host.maxScale;
    if (min > max) {
      issue(
        ["host", "services", name, "minScale"],
        `expected at most maxScale (${max})`,
        min,
        `pulumi config set --path 'permacoop:host.services.${name}.minScale' ${max}`,
      );
    }
  }
  services.forEach((service, i) => {
    if (service.route !== "/") {
      issue(
        ["services", i, "route"],
        `expected "/" on a scaleway-container host: the platform routes by hostname, not by path, so the route ${service.route} cannot be honoured; give ${service.name} a hostname of its own`,
        service.route,
        `pulumi config rm --path 'permacoop:services[${i}].route' && pulumi config set --path 'permacoop:dns.hostnames[${dns.hostnames.length}]' ${service.name}.${zone} && pulumi config set --path 'permacoop:host.services.${service.name}.hostnames[0]' ${service.name}.${zone}`,
      );
    }
    if (service.build && service.fromStack) {
      issue(
        ["services", i, "fromStack"],
        "expected either build or fromStack, not both (the image is built by this stack, or shipped from another)",
        service.fromStack,
        `pulumi config rm --path 'permacoop:services[${i}].fromStack'   # or: pulumi config rm --path 'permacoop:services[${i}].build'`,
      );
    }
  });
}
