import { isAbsolute, normalize } from "node:path";
import { z } from "zod";
import { checkCrossKeyRules, checkServiceRules } from "./rules";

/**
 * The config contract of a stack: every `permacoop:*` key, its type and its default.
 * Types used by the components are inferred from this schema, never written by hand.
 */

/** Config namespace of the project (`permacoop:<key>` in Pulumi.<stack>.yaml). */
export const NAMESPACE = "permacoop";

const dnsLabel = "[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?";
const hostnamePattern = new RegExp(`^(${dnsLabel}\\.)+[a-z]{2,63}$`);
const hostname = z
  .string({ error: "expected a lower-case DNS name" })
  .regex(hostnamePattern, { error: "expected a lower-case fully qualified DNS name" })
  .meta({ title: "DNS name" });
const servedName = z.union([hostname, z.literal("localhost")], { error: "expected a lower-case fully qualified DNS name, or localhost" });

const cidr = z
  .union([z.cidrv4(), z.cidrv6()], {
    error: "expected an IPv4 or IPv6 CIDR block",
  })
  .meta({ title: "CIDR block" });

const sshPublicKey = z
  .string({ error: "expected an OpenSSH public key" })
  .regex(/^(ssh-(ed25519|rsa)|ecdsa-sha2-nistp(256|384|521)) [A-Za-z0-9+/=]+( .*)?$/, {
    error: "expected an OpenSSH public key (ssh-ed25519 AAAA… comment)",
  })
  .refine(isWellFormedKeyBlob, {
    error: "expected an OpenSSH public key whose base64 blob is a whole key of the type it names (copy the line again from ssh-keyscan or the .pub file)",
  })
  .meta({ title: "OpenSSH public key" });

/**
 * Whether an OpenSSH public key line's blob is a key of the type it names: the blob starts with
 * that type as an SSH string, and an ed25519 key holds exactly 32 bytes (others: some bytes).
 */
function isWellFormedKeyBlob(line: string): boolean {
  const [type, blob = ""] = line.split(" ");
  const bytes = Buffer.from(blob, "base64");
  if (bytes.toString("base64").replace(/=+$/, "") !== blob.replace(/=+$/, "") || bytes.length < 4) return false;
  const typeLength = bytes.readUInt32BE(0);
  if (bytes.subarray(4, 4 + typeLength).toString("latin1") !== type) return false;
  const rest = bytes.subarray(4 + typeLength);
  if (type !== "ssh-ed25519") return rest.length > 4;
  return rest.length === 36 && rest.readUInt32BE(0) === 32;
}

const port = z
  .number({ error: "expected a TCP port number" })
  .int({ error: "expected a whole TCP port number" })
  .min(1, { error: "expected a TCP port between 1 and 65535" })
  .max(65535, { error: "expected a TCP port between 1 and 65535" })
  .meta({ title: "TCP port" });

// Docker's reference grammar (distribution/reference): [domain[:port]/]path[:tag][@digest].
const referenceDomain = "(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]+)?)";
const referencePath = "[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*";
const IMAGE_REFERENCE = new RegExp(`^(?:${referenceDomain}/)?${referencePath}(?:/${referencePath})*(?::[\\w][\\w.-]{0,127})?(?:@sha256:[0-9a-f]{64})?$`);

/** Whether `ref` is an image reference Docker accepts: a first part without `.`/`:` (not localhost) is a lower-case path. */
export function isImageReference(ref: string): boolean {
  if (!IMAGE_REFERENCE.test(ref) || ref.replace(/@.*$/, "").length > 255) return false;
  const [first, ...rest] = ref.split("/");
  const isDomain = rest.length > 0 && (first!.includes(".") || first!.includes(":") || first === "localhost");
  return isDomain || new RegExp(`^${referencePath}(:|@|$)`).test(first!);
}

/** An image reference (registry/name:tag or @digest). */
const imageRef = (example: string) =>
  z
    .string({ error: "expected an image reference" })
    .refine(isImageReference, {
      error: `expected an image reference such as ${example}: a lower-case repository, an optional :tag (letters, digits, _ . -), an optional @sha256:<64 hex digits>`,
    })
    .meta({ title: "image reference" });

/** A service's image reference, as `npm run deploy` checks one before it touches the config. */
export const imageRefSchema = imageRef("ghcr.io/org/app:main");

const pgIdentifier = z
  .string()
  .regex(/^[a-z_][a-z0-9_]{0,62}$/, { error: "expected a PostgreSQL identifier" })
  .meta({ title: "PostgreSQL identifier" });

/** Fields every database kind has. */
const databaseIdentity = {
  /** Logical database name. Default `permacoop`. */
  name: pgIdentifier.default("permacoop").meta({
    description: "Logical database name: a PostgreSQL identifier (lower-case letters, digits and `_`, not starting with a digit). Default `permacoop`.",
  }),
  /** Application user. Default `permacoop`. */
  user: pgIdentifier.default("permacoop").meta({ description: "Application user: a PostgreSQL identifier. Default `permacoop`." }),
  /** Refuse to delete the data on `pulumi destroy`. Default: true on the `prod` stack, false elsewhere. */
  protect: z.boolean({ error: "expected true or false" }).optional().meta({
    description: "Refuse to delete the data on `pulumi destroy`. Default: true on the `prod` stack, false elsewhere.",
    computedDefault: "true on the `prod` stack, false elsewhere",
  }),
};

const seconds = (fallback: number) =>
  z.number({ error: "expected a number of seconds" }).positive({ error: "expected a positive number of seconds" }).default(fallback);

export { looksLikeCredential, SECRET_KEY_PATTERN } from "./secretLike";

const envName = /^[A-Z_][A-Z0-9_]*$/;
const secretKeyName = /^[a-z][A-Za-z0-9]*$/;

/** An OpenSSH public key, as the examples give it. */
const exampleSshKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHc2p5Zb0Q9y8m7x3kVt4Jb9qW1eR6tY2uI8oP0aS4dF ops@example.org";

/** Unix user that deploys on a VM the program provisions (member of the docker group). */
const deployUser = z
  .string()
  .regex(/^[a-z_][a-z0-9_-]{0,31}$/, { error: "expected a Unix user name" })
  .default("deploy")
  .meta({ title: "Unix user name", description: "Unix user that deploys (member of the docker group). Default `deploy`." });

/** An existing server reached over SSH is issue #5; a Scaleway VM is declared here. */
/** A Container Registry namespace: the built images of `scaleway-vm` and `scaleway-container` hosts are pushed there. */
const registryNamespace = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{2,52}[a-z0-9]$/, { error: "expected a registry namespace name: 4 to 54 lower-case letters, digits and dashes" })
  .optional()
  .meta({
    description:
      "Container Registry namespace the built images (`services[].build`) are pushed to: 4 to 54 lower-case letters, digits and dashes, unique across all of Scaleway. Default `permacoop-<stack>`.",
    computedDefault: "`permacoop-<stack>`",
    examples: ["permacoop-staging"],
  });

export const scalewayVmHostSchema = z
  .strictObject({
    kind: z.literal("scaleway-vm").meta({ description: "`scaleway-vm`: a Scaleway Instance (VM) this stack creates." }),
    /** Availability zone of the VM. Default `fr-par-1`. */
    zone: z
      .string()
      .regex(/^[a-z]{2}-[a-z]{3}-[1-9]$/, { error: "expected a Scaleway zone such as fr-par-1" })
      .default("fr-par-1")
      .meta({ title: "Scaleway zone", description: "Availability zone of the VM, such as `fr-par-1` or `nl-ams-1`. Default `fr-par-1`." }),
    /** Commercial type. Default `DEV1-S`. */
    type: z
      .string()
      .regex(/^[A-Z0-9][A-Z0-9-]*$/, { error: "expected a Scaleway commercial type such as DEV1-S" })
      .default("DEV1-S")
      .meta({ description: "Commercial type (size) of the VM, in upper case, such as `DEV1-S` or `DEV1-M`. Default `DEV1-S`." }),
    /** Image label or UUID. Default `debian_bookworm`. */
    image: z.string().min(1).default("debian_bookworm").meta({ description: "Image label or UUID the VM boots from. Default `debian_bookworm`." }),
    /** Root volume size in GB. Default 20. */
    rootVolumeGb: z
      .number()
      .int({ error: "expected a whole number of GB" })
      .min(10, { error: "expected at least 10 GB" })
      .max(10000)
      .default(20)
      .meta({ description: "Root volume size in GB. Default 20." }),
    /** Attach a routed IPv6 address too (and publish AAAA records). Default false. */
    ipv6: z
      .boolean({ error: "expected true or false" })
      .default(false)
      .meta({ description: "Attach a routed IPv6 address too (and publish AAAA records). Default false." }),
    /** Networks allowed to reach SSH (port 22). Everything else is dropped. Required. */
    adminCidrs: z
      .array(cidr, { error: "expected a list of CIDR blocks" })
      .min(1, { error: "expected at least one CIDR block allowed to reach SSH" })
      .meta({
        description:
          "Networks allowed to reach SSH (port 22), as IPv4 or IPv6 CIDR blocks (`203.0.113.7/32` for one address, not `203.0.113.7`). Everything else is dropped. Required, at least one.",
        examples: [["203.0.113.7/32"]],
      }),
    /** Number of VMs, each running the same runtime; more than one puts them behind a Scaleway Load Balancer. Default 1. */
    count: z
      .number({ error: "expected a number of VMs" })
      .int({ error: "expected a whole number of VMs" })
      .min(1, { error: "expected between 1 and 10 VMs" })
      .max(10, { error: "expected between 1 and 10 VMs" })
      .default(1)
      .meta({
        description:
          "Number of VMs running the same runtime. More than one: the VMs join a Private Network, a Scaleway Load Balancer (HTTP health check on the edge, TLS with Let's Encrypt, HTTP → HTTPS) takes the traffic and the DNS records, and rollouts go one VM at a time (`rollout.parallel`). Needs a `scaleway-managed` database and no container accessory (state every VM shares). Default 1.",
      }),
    /** Commercial type of the Load Balancer (when `count` > 1). Default `LB-S`. */
    loadBalancerType: z
      .string()
      .regex(/^LB-[A-Z0-9-]+$/, { error: "expected a Scaleway Load Balancer type such as LB-S" })
      .default("LB-S")
      .meta({
        description: "Commercial type of the Load Balancer in front of the VMs when `count` is more than 1, such as `LB-S` or `LB-GP-M`. Default `LB-S`.",
      }),
    /** Unix user that deploys (member of the docker group). Default `deploy`. */
    deployUser,
    /** Container Registry namespace the built images are pushed to (when no `buildRegistry` is set); unique across all of Scaleway. Default `permacoop-<stack>`. */
    registryNamespace,
    /** Public keys allowed to log in as the deploy user. Required. */
    sshPublicKeys: z
      .array(sshPublicKey, { error: "expected a list of OpenSSH public keys" })
      .min(1, { error: "expected at least one SSH public key" })
      .meta({
        description:
          "OpenSSH public keys (`ssh-ed25519 AAAA… comment`; ed25519, RSA or ECDSA) allowed to log in as the deploy user. Never a private key. Required, at least one.",
        examples: [[exampleSshKey]],
      }),
  })
  .meta({
    description:
      "A Scaleway Instance (VM) this stack creates, running Docker, the nginx edge and the services. Needs `dns.provider` `scaleway` or `external` (it is public). Its database is `scaleway-managed`, or a `container` one that dies with the VM (refused when the data is protected, as on `prod`).",
    examples: [{ kind: "scaleway-vm", type: "DEV1-M", rootVolumeGb: 40, ipv6: true, adminCidrs: ["198.51.100.0/24"], sshPublicKeys: [exampleSshKey] }],
  });

/** Where a Docker host's edge publishes (`local`, `ssh`), with the host kind's defaults. */
function edgePublishing(defaults: { httpPort: number; httpsPort: number; bindAddress: string; reach: string }) {
  return {
    httpPort: port.default(defaults.httpPort).meta({ description: `Port the edge nginx publishes HTTP on. Default ${defaults.httpPort}.` }),
    httpsPort: port.default(defaults.httpsPort).meta({ description: `Port the edge publishes HTTPS on when TLS is on. Default ${defaults.httpsPort}.` }),
    bindAddress: z
      .union([z.ipv4(), z.ipv6()], { error: `expected an IP address such as ${defaults.bindAddress}` })
      .default(defaults.bindAddress)
      .meta({ description: `IP address the ports are published on. Default \`${defaults.bindAddress}\` (${defaults.reach}).` }),
  };
}

/** This machine's Docker engine: the whole runtime in containers, no cloud account. */
export const localHostSchema = z
  .strictObject({
    kind: z.literal("local").meta({ description: "`local`: this machine's Docker engine." }),
    /** Ports and address the edge publishes on: 8080, 8443, 127.0.0.1 (not reachable from other machines). */
    ...edgePublishing({ httpPort: 8080, httpsPort: 8443, bindAddress: "127.0.0.1", reach: "not reachable from other machines" }),
  })
  .meta({
    description:
      "This machine's Docker engine: the whole runtime in containers, no cloud account (`npm run local`). Takes a `container` database; `dns.provider` `none` with the hostname `localhost` is enough.",
    examples: [{ kind: "local", httpPort: 8080, bindAddress: "127.0.0.1" }],
  });

const sshAddress = z
  .union([z.ipv4(), z.ipv6(), hostname, z.literal("localhost")], { error: "expected the server's IP address or DNS name" })
  .meta({ description: "The server's IPv4 or IPv6 address, lower-case DNS name, or `localhost`.", examples: ["203.0.113.20"] });
const sshUser = z
  .string()
  .regex(/^[a-z_][a-z0-9_-]{0,31}$/, { error: "expected a Unix user name" })
  .meta({
    title: "Unix user name",
    description: "Unix user that deploys (must be allowed to use Docker); its private key is the secret `permacoop:sshPrivateKey`. Default `deploy`.",
  });
const pinnedHostKey = sshPublicKey.meta({
  description: "The server's SSH host public key, pinned: `ssh-keyscan` it once and check it out of band.",
  examples: [exampleSshKey],
});

/** One server of a several-server `ssh` host. */
export const sshServerSchema = z
  .strictObject({
    /** Host name or IP address of the server. Required. */
    address: sshAddress,
    /** The server's SSH host public key, pinned. Required. */
    hostKey: pinnedHostKey,
    /** SSH port. Default `host.port`. */
    port: port.optional().meta({ description: "SSH port. Default `host.port`." }),
    /** Deploy user. Default `host.user`. */
    user: sshUser.optional().meta({ description: "Unix user that deploys. Default `host.user`." }),
  })
  .meta({ description: "One server: its address and pinned host key (its SSH port and user default to the host's)." });

/** An existing server (a VPS, a Vagrant VM) with Docker, reached over SSH; or several behind a load balancer. */
export const sshHostSchema = z
  .strictObject({
    kind: z.literal("ssh").meta({ description: "`ssh`: an existing server reached over SSH." }),
    /** Host name or IP address of the server (one server; several: `hosts`). */
    address: sshAddress.optional().meta({
      description: "The server's IPv4 or IPv6 address, lower-case DNS name, or `localhost`. Required with one server; with several, give `hosts` instead.",
      examples: ["203.0.113.20"],
    }),
    /** SSH port. Default 22. */
    port: port.default(22).meta({ description: "SSH port (of every server). Default 22." }),
    /** User that deploys (must be allowed to use Docker). Default `deploy`. */
    user: sshUser.default("deploy"),
    /** The server's SSH host public key, pinned (ssh-keyscan it once, check it out of band). */
    hostKey: pinnedHostKey.optional().meta({
      description: "The server's SSH host public key, pinned: `ssh-keyscan` it once and check it out of band. Required with `address`.",
      examples: [exampleSshKey],
    }),
    /** Several servers running the same runtime, behind the operator's load balancer. Exclusive with `address`. */
    hosts: z
      .array(sshServerSchema, { error: "expected a list of servers" })
      .min(1, { error: "expected at least one server" })
      .max(20, { error: "expected at most 20 servers" })
      .optional()
      .meta({
        description:
          "Several existing servers running the same runtime, rolled out one at a time (`rollout.parallel`), behind a load balancer of yours (`loadBalancerAddress`). They share one database (`external`): a `container` database or accessory, which would be one per server, is refused. Exclusive with `address`/`hostKey`. Default: the one server of `address`.",
        examples: [
          [
            { address: "203.0.113.20", hostKey: exampleSshKey },
            { address: "203.0.113.21", hostKey: exampleSshKey },
          ],
        ],
      }),
    /** The load balancer's public IPv4 address in front of `hosts` (what DNS records point at). */
    loadBalancerAddress: z
      .ipv4({ error: "expected the load balancer's public IPv4 address" })
      .optional()
      .meta({
        description:
          "Public IPv4 address of your load balancer in front of `hosts` (HAProxy, a cloud LB): the DNS records point at it, and it health-checks each server's edge. Required with several servers and DNS records: several A records (DNS round robin) keep sending clients to a dead server until their TTL ends. Default none.",
        examples: ["203.0.113.10"],
      }),
    /** Ports and address the edge publishes on: 80, 443, 0.0.0.0 (all interfaces). */
    ...edgePublishing({ httpPort: 80, httpsPort: 443, bindAddress: "0.0.0.0", reach: "all interfaces" }),
  })
  .meta({
    description:
      "An existing server (a VPS, a Vagrant VM) with Docker, reached over SSH, or several (`hosts`) behind your load balancer. One server takes a `container` database; several share an `external` one. The deploy user's private key is the secret `permacoop:sshPrivateKey` (see below).",
    examples: [
      { kind: "ssh", address: "203.0.113.20", hostKey: exampleSshKey },
      {
        kind: "ssh",
        hosts: [
          { address: "10.0.0.11", hostKey: exampleSshKey },
          { address: "10.0.0.12", hostKey: exampleSshKey },
        ],
        loadBalancerAddress: "203.0.113.10",
      },
    ],
  });

const serviceName = z
  .string({ error: "expected a service name" })
  .regex(/^[a-z][a-z0-9-]{0,30}$/, { error: "expected a lower-case name such as app or api" })
  .meta({ title: "service name" });
const minScale = z.number({ error: "expected a number of instances" }).int({ error: "expected a whole number of instances" }).min(0).max(100);
const maxScale = z.number({ error: "expected a number of instances" }).int({ error: "expected a whole number of instances" }).min(1).max(100);
const cpuLimit = z
  .number({ error: "expected mvCPU (1000 = one vCPU)" })
  .int({ error: "expected a whole number of mvCPU" })
  .min(70, { error: "expected at least 70 mvCPU" })
  .max(6000, { error: "expected at most 6000 mvCPU" });
const memoryLimitMb = z
  .number({ error: "expected a number of MB" })
  .int({ error: "expected a whole number of MB" })
  .min(128, { error: "expected at least 128 MB" })
  .max(32768, { error: "expected at most 32768 MB" });

/** Settings of one service on Serverless Containers; each field left out takes the host-level value. */
export const containerServiceSchema = z
  .strictObject({
    /** Hostnames (from `dns.hostnames`) this service answers on. Default: the first service gets every hostname no other service lists; the others none. */
    hostnames: z
      .array(hostname, { error: "expected a list of hostnames" })
      .min(1, { error: "expected at least one hostname" })
      .optional()
      .meta({
        description:
          "Hostnames this service answers on, each one of `dns.hostnames` and listed by no other service. Default: the first service gets every hostname no other service lists; the others none.",
        computedDefault: "first service: every hostname no other service lists; others: none",
        examples: [["api.example.org"]],
      }),
    /** Instances kept running. Default the host's `minScale`. */
    minScale: minScale.optional().meta({
      description: "Instances kept running; at most this service's `maxScale`. Default the host's `minScale`.",
      computedDefault: "the host's `minScale`",
    }),
    /** Most instances. Default the host's `maxScale`. */
    maxScale: maxScale.optional().meta({ description: "Most instances. Default the host's `maxScale`.", computedDefault: "the host's `maxScale`" }),
    /** CPU per instance, in mvCPU. Default the host's `cpuLimit`. */
    cpuLimit: cpuLimit.optional().meta({ description: "CPU per instance, in mvCPU. Default the host's `cpuLimit`.", computedDefault: "the host's `cpuLimit`" }),
    /** Memory per instance, in MB. Default the host's `memoryLimitMb`. */
    memoryLimitMb: memoryLimitMb
      .optional()
      .meta({ description: "Memory per instance, in MB. Default the host's `memoryLimitMb`.", computedDefault: "the host's `memoryLimitMb`" }),
  })
  .meta({ description: "Settings of one service on Serverless Containers; each field left out takes the host-level value." });

/** A Scaleway region (containers, registry, Private Network, database). Default `fr-par`. */
const scalewayRegion = z
  .string()
  .regex(/^[a-z]{2}-[a-z]{3}$/, { error: "expected a Scaleway region such as fr-par" })
  .default("fr-par");

/**
 * Scaleway Serverless Containers (scale-out): one container per service, scaled by the platform,
 * TLS and routing by hostname by the platform; no VM, no nginx. Needs a `scaleway-managed` database,
 * reached over a Private Network.
 */
export const scalewayContainerHostSchema = z
  .strictObject({
    kind: z.literal("scaleway-container").meta({ description: "`scaleway-container`: Scaleway Serverless Containers." }),
    /** Region of the containers, the registry and the Private Network (the database must be in it too). Default `fr-par`. */
    region: scalewayRegion.meta({
      title: "Scaleway region",
      description: "Region of the containers, the registry and the Private Network, such as `fr-par`; the database must be in it too. Default `fr-par`.",
    }),
    /** Container Registry namespace the built images are pushed to; unique across all of Scaleway. Default `permacoop-<stack>`. */
    registryNamespace,
    /** Instances of each service kept running (0 allows cold starts). Default 1. */
    minScale: minScale.default(1).meta({ description: "Instances of each service kept running (0 allows cold starts); at most `maxScale`. Default 1." }),
    /** Most instances of each service the platform scales out to. Default 5. */
    maxScale: maxScale.default(5).meta({ description: "Most instances of each service the platform scales out to. Default 5." }),
    /** CPU per instance, in mvCPU (1000 = one vCPU). Default 560. */
    cpuLimit: cpuLimit.default(560).meta({ description: "CPU per instance, in mvCPU (1000 = one vCPU). Default 560." }),
    /** Memory per instance, in MB. Default 1024. */
    memoryLimitMb: memoryLimitMb.default(1024).meta({ description: "Memory per instance, in MB. Default 1024." }),
    /** Per-service hostnames and overrides, by service name. Default none. */
    services: z
      .record(serviceName, containerServiceSchema)
      .default({})
      .meta({ description: "Per-service hostnames and overrides, by service name (a `name` from `permacoop:services`). Default none." }),
  })
  .meta({
    description:
      "Scaleway Serverless Containers (scale-out): one container per service, scaled by the platform; TLS and routing by hostname by the platform; no VM, no nginx. Needs a `scaleway-managed` database in the same region (reached over a Private Network), `dns.provider` `scaleway` with hostnames below the zone (each is a CNAME, so not the apex), `tls.enabled` true (no `tls.email`: the platform issues the certificates), and every service's `route` at `/`: give a second service a hostname of its own in `services`.",
    examples: [
      {
        kind: "scaleway-container",
        region: "fr-par",
        minScale: 1,
        maxScale: 5,
        services: { api: { hostnames: ["api.example.org"], minScale: 0 } },
      },
    ],
  });

/**
 * A VM on this machine provisioned by the same cloud-init as a Scaleway VM (tools/vm-hosts.sh):
 * prod's first-boot path, reached over SSH with the generated keys, without a cloud account.
 */
export const localVmHostSchema = z
  .strictObject({
    kind: z.literal("local-vm").meta({ description: "`local-vm`: a VM on this machine, booted from the same cloud-init as a Scaleway VM." }),
    /** Which of this machine's VM slots (1–9): the VM answers at 10.231.<slot>.2. Default 9. */
    slot: z
      .number({ error: "expected a slot number from 1 to 9" })
      .int({ error: "expected a slot number from 1 to 9" })
      .min(1, { error: "expected a slot number from 1 to 9" })
      .max(9, { error: "expected a slot number from 1 to 9" })
      .default(9)
      .meta({ description: "Which of this machine's VM slots (1–9): the VM answers at `10.231.<slot>.2`, from this machine only. Default 9." }),
    /** Unix user that deploys (member of the docker group). Default `deploy`. */
    deployUser,
    /** More public keys allowed to log in as the deploy user (the program's own deploy key always is). Default none. */
    sshPublicKeys: z
      .array(sshPublicKey, { error: "expected a list of OpenSSH public keys" })
      .default([])
      .meta({ description: "More OpenSSH public keys allowed to log in as the deploy user; the program's generated deploy key always is. Default none." }),
  })
  .meta({
    description:
      "A VM on this machine (`npm run vm`, Linux and root only): a Debian root provisioned by the real cloud-init from the same user data as a Scaleway VM, with its own network namespace, Docker engine and sshd, reached over SSH with the generated keys. Takes a `container` database; the images it runs are copied from this machine's Docker engine.",
    examples: [{ kind: "local-vm", slot: 9 }],
  });

export const hostSchema = z.discriminatedUnion("kind", [scalewayVmHostSchema, localHostSchema, sshHostSchema, scalewayContainerHostSchema, localVmHostSchema], {
  error: 'expected host.kind to be "scaleway-vm", "scaleway-container", "ssh", "local" or "local-vm"',
});

/** Secret config keys the program itself reads (not through a service's secretEnv). */
export const PROGRAM_SECRETS = {
  /** Private key of `host.user` on an `ssh` host. */
  sshPrivateKey: "sshPrivateKey",
  /** Password of the `external` database's user. */
  databasePassword: "databasePassword",
} as const;

/** What each of PROGRAM_SECRETS holds and when it is required: the generated docs list them. */
export const PROGRAM_SECRET_DESCRIPTIONS = {
  sshPrivateKey:
    "Private key of `host.user` on an `ssh` host (the whole key file); required by host kind `ssh`. Set it from the file: `pulumi config set --secret permacoop:sshPrivateKey < ~/.ssh/deploy_ed25519`.",
  databasePassword:
    "Password of `database.user` on an `external` database; required by database kind `external`. Set it without echoing it: `pulumi config set --secret permacoop:databasePassword` (it prompts).",
} as const satisfies Record<keyof typeof PROGRAM_SECRETS, string>;

const backupRetentionDays = z
  .number({ error: "expected a number of days" })
  .int({ error: "expected a whole number of days" })
  .min(1, { error: "expected between 1 and 365 days" })
  .max(365, { error: "expected between 1 and 365 days" })
  .default(7);

export const managedDatabaseSchema = z
  .strictObject({
    kind: z.literal("scaleway-managed").meta({ description: "`scaleway-managed`: a Scaleway Managed Database for PostgreSQL." }),
    /** Region of the instance. Default `fr-par`. */
    region: scalewayRegion.meta({
      title: "Scaleway region",
      description: "Region of the instance, such as `fr-par`; on a `scaleway-container` host, the host's `region`. Default `fr-par`.",
    }),
    /** Node type. Default `DB-DEV-S`. */
    nodeType: z
      .string()
      .regex(/^(DB|db)-[A-Za-z0-9-]+$/, { error: "expected a Scaleway database node type such as DB-DEV-S" })
      .default("DB-DEV-S")
      .meta({ description: "Node type (size), such as `DB-DEV-S` or `DB-DEV-M`. Default `DB-DEV-S`." }),
    /** Engine. Only PostgreSQL 16 is supported. */
    engine: z
      .literal("PostgreSQL-16", { error: 'expected "PostgreSQL-16"' })
      .default("PostgreSQL-16")
      .meta({ description: "Engine. Only PostgreSQL 16 is supported. Default `PostgreSQL-16`." }),
    /** Volume size in GB (SBS volume). Default 10. */
    volumeSizeGb: z.number().int().min(5).max(10000).default(10).meta({ description: "Volume size in GB (SBS volume). Default 10." }),
    /** Two nodes with automatic failover. Default false. */
    highAvailability: z.boolean().default(false).meta({ description: "Two nodes with automatic failover. Default false." }),
    /** Hours between automatic backups. Default 24 (daily). */
    backupFrequencyHours: z
      .number()
      .int()
      .min(1)
      .max(24 * 7)
      .default(24)
      .meta({ description: "Hours between automatic backups (at most a week). Default 24 (daily)." }),
    /** Days automatic backups are kept. Default 7. */
    backupRetentionDays: backupRetentionDays.meta({ description: "Days automatic backups are kept. Default 7." }),
    ...databaseIdentity,
  })
  .meta({
    description:
      "A Scaleway Managed Database for PostgreSQL, backed up by the platform. For `scaleway-vm` and `scaleway-container` hosts; refused on `local` and `ssh` hosts (it admits the Scaleway VM's address, or the Private Network, only).",
    examples: [{ kind: "scaleway-managed", region: "fr-par", nodeType: "DB-DEV-M", volumeSizeGb: 20, protect: true }],
  });

/** PostgreSQL in a container on the host, its data in a named volume that survives re-runs. */
export const containerDatabaseSchema = z
  .strictObject({
    kind: z.literal("container").meta({ description: "`container`: PostgreSQL in a container on the host." }),
    /** Image. Default the official `postgres:16`. */
    image: imageRef("postgres:16")
      .default("postgres:16")
      .meta({ description: "PostgreSQL image (`name:tag` or `name@sha256:…`). Default the official `postgres:16`." }),
    /** Hour of the host's clock at which the daily `pg_dump` runs (deploy user's crontab). Default 3. */
    backupHour: z
      .number({ error: "expected an hour between 0 and 23" })
      .int({ error: "expected a whole hour between 0 and 23" })
      .min(0, { error: "expected an hour between 0 and 23" })
      .max(23, { error: "expected an hour between 0 and 23" })
      .default(3)
      .meta({ description: "Hour of the host's clock at which the daily `pg_dump` runs (deploy user's crontab). Default 3." }),
    /** Days daily backups are kept on the host (on-demand ones stay until removed). Default 7. */
    backupRetentionDays: backupRetentionDays.meta({ description: "Days daily backups are kept on the host (on-demand ones stay until removed). Default 7." }),
    ...databaseIdentity,
  })
  .meta({
    description:
      "PostgreSQL in a container on the host, its data in a named volume that survives re-runs. For `local` and `ssh` hosts; on a `scaleway-vm` host an ephemeral one, refused when the data is protected (`protect`, by default on `prod`): it dies with the VM. Not on `scaleway-container`.",
    examples: [{ kind: "container", image: "postgres:16", backupHour: 3 }],
  });

/** A PostgreSQL server run elsewhere (your managed service, a database server): what several `ssh` servers share. */
export const externalDatabaseSchema = z
  .strictObject({
    kind: z.literal("external").meta({ description: "`external`: a PostgreSQL server run elsewhere, that every host reaches." }),
    /** Host name or IP address of the server. Required. */
    host: z
      .union([z.ipv4(), z.ipv6(), hostname], { error: "expected the database server's IP address or DNS name" })
      .meta({ description: "The database server's IP address or lower-case DNS name, as the hosts' containers reach it. Required.", examples: ["10.0.0.5"] }),
    /** Port. Default 5432. */
    port: port.default(5432).meta({ description: "PostgreSQL port. Default 5432." }),
    /** Logical database name. Default `permacoop`. */
    name: databaseIdentity.name,
    /** Application user. Default `permacoop`. */
    user: databaseIdentity.user,
    /** Refuse `pulumi destroy` (the program never deletes an external database; this guards the accessories' data). */
    protect: databaseIdentity.protect,
  })
  .meta({
    description:
      "A PostgreSQL server run elsewhere (your provider's managed PostgreSQL, a database server) that every host reaches: what several `ssh` servers share. Its password is the secret `permacoop:databasePassword`; its backups are its operator's (`npm run backup` covers the accessories). For `ssh` hosts.",
    examples: [{ kind: "external", host: "10.0.0.5", port: 5432, name: "permacoop", user: "permacoop" }],
  });

export const databaseSchema = z.discriminatedUnion("kind", [managedDatabaseSchema, containerDatabaseSchema, externalDatabaseSchema], {
  error: 'expected database.kind to be "scaleway-managed", "container" or "external"',
});

export const dnsSchema = z
  .strictObject({
    /** `scaleway`: records are created in a Scaleway Domains zone; `external`: the stack exports the records to create by hand. */
    provider: z.enum(["scaleway", "external", "none"], { error: 'expected "scaleway", "external" or "none" (local environments)' }).meta({
      description:
        "`scaleway`: records are created in a Scaleway Domains zone; `external`: the stack exports the records to create by hand; `none`: no records (local environments, not on a `scaleway-vm` host). A `scaleway-container` host needs `scaleway`. Required.",
    }),
    /** The zone (domain) the hostnames live in, e.g. `fairness.coop`. Required with provider `scaleway`. */
    zone: hostname
      .optional()
      .meta({ description: "The zone (domain) the hostnames live in, e.g. `fairness.coop`. Required with provider `scaleway`.", examples: ["fairness.coop"] }),
    /** Hostnames served by this environment; the first is the canonical one. Required. */
    hostnames: z
      .array(servedName, { error: "expected a list of hostnames" })
      .min(1, { error: "expected at least one hostname" })
      .meta({
        description:
          "Hostnames served by this environment, lower-case fully qualified DNS names (or `localhost`); the first is the canonical one. With provider `scaleway`, each inside `zone`. Required, at least one.",
        examples: [["permacoop.fairness.coop"]],
      }),
    /** Record TTL in seconds. Default 300. */
    ttl: z.number().int().min(60).max(86400).default(300).meta({ description: "Record TTL in seconds. Default 300." }),
  })
  .superRefine((dns, ctx) => {
    if (dns.provider !== "scaleway") return;
    if (!dns.zone) {
      ctx.addIssue({ code: "custom", path: ["zone"], message: 'expected the Scaleway DNS zone (required when provider is "scaleway")', input: undefined });
      return;
    }
    dns.hostnames.forEach((name, i) => {
      // A name that is not a DNS name at all is reported by its own pattern.
      if (hostnamePattern.test(name) && name !== dns.zone && !name.endsWith(`.${dns.zone}`)) {
        // The fix keeps the name's first label, in the stack's own zone.
        ctx.addIssue({
          code: "custom",
          path: ["hostnames", i],
          message: `expected a hostname inside zone ${dns.zone}`,
          input: name,
          params: { value: `${name.split(".")[0]}.${dns.zone}` },
        });
      }
    });
  })
  .meta({ examples: [{ provider: "scaleway", zone: "fairness.coop", hostnames: ["permacoop.fairness.coop"], ttl: 300 }] });

export const tlsSchema = z
  .strictObject({
    /** Serve HTTPS with an ACME certificate. Default true. */
    enabled: z.boolean().default(true).meta({
      description: "Serve HTTPS with an ACME certificate. Default true; must stay true on a `scaleway-container` host (the platform serves HTTPS only).",
    }),
    /** ACME account e-mail (expiry notices). Required when enabled, except on `scaleway-container` (the platform issues the certificates). */
    email: z
      .email({ error: "expected an e-mail address" })
      .optional()
      .meta({
        description: "ACME account e-mail (expiry notices). Required when enabled, except on `scaleway-container` (the platform issues the certificates).",
        examples: ["ops@example.org"],
      }),
    /** ACME directory URL. Default Let's Encrypt production (staging: https://acme-staging-v02.api.letsencrypt.org/directory). */
    acmeDirectory: z
      .url({ protocol: /^https$/, error: "expected an https:// ACME directory URL" })
      .default("https://acme-v02.api.letsencrypt.org/directory")
      .meta({
        description:
          "ACME directory URL. Default Let's Encrypt production, `https://acme-v02.api.letsencrypt.org/directory`; staging is `https://acme-staging-v02.api.letsencrypt.org/directory`.",
      }),
    /** PEM bundle of the CA that signs the ACME server's own HTTPS certificate (a private or test CA). Default none. */
    caBundle: z
      .string()
      .regex(/^-----BEGIN CERTIFICATE-----[\s\S]+-----END CERTIFICATE-----\s*$/, { error: "expected PEM certificates (-----BEGIN CERTIFICATE-----…)" })
      .optional()
      .meta({
        description:
          "PEM bundle (`-----BEGIN CERTIFICATE-----…`) of the CA that signs the ACME server's own HTTPS certificate (a private or test CA). Default none.",
      }),
    /** certbot image. Default the official `certbot/certbot:latest`. */
    certbotImage: imageRef("certbot/certbot:latest")
      .default("certbot/certbot:latest")
      .meta({ description: "certbot image. Default the official `certbot/certbot:latest`." }),
    /** Seconds an issuance may take before it fails (HTTP keeps serving). Default 120. */
    deadlineSeconds: z
      .number()
      .int()
      .min(10)
      .max(3600)
      .default(120)
      .meta({ description: "Seconds an issuance may take before it fails (HTTP keeps serving). Default 120." }),
  })
  .meta({ examples: [{ enabled: true, email: "tech@fairness.coop" }] });

export const proxySchema = z
  .strictObject({
    /** nginx image of the edge. Default the official `nginx:stable`. */
    image: imageRef("nginx:stable").default("nginx:stable").meta({ description: "nginx image of the edge. Default the official `nginx:stable`." }),
    /** HAProxy image of the switch (2.6 or later, Debian-based: the rollouts run bash in it). Default the official `haproxy:lts`. */
    switchImage: imageRef("haproxy:lts")
      .refine((ref) => !/:[^/@]*alpine/.test(ref), {
        error: "expected a Debian-based HAProxy image such as haproxy:lts: the rollouts run bash inside the switch, which Alpine images lack",
      })
      .default("haproxy:lts")
      .meta({
        description:
          "HAProxy image of the switch: 2.6 or later, Debian-based (the rollouts run bash inside it; not an `-alpine` tag). Default the official `haproxy:lts`.",
      }),
    /** Largest accepted request body (nginx `client_max_body_size`). Default `10m`. */
    clientMaxBodySize: z
      .string()
      // nginx reads at most 9 digits here without overflowing its size type, any suffix included.
      .regex(/^[0-9]{1,9}[kKmMgG]?$/, { error: "expected an nginx size such as 10m: up to 9 digits and an optional k, m or g" })
      .default("10m")
      .meta({ description: "Largest accepted request body (nginx `client_max_body_size`): a number with an optional `k`, `m` or `g` suffix. Default `10m`." }),
  })
  .meta({ examples: [{ clientMaxBodySize: "50m" }] });

export const healthCheckSchema = z.strictObject({
  /** Seconds between probes. Default 1. */
  intervalSeconds: seconds(1).meta({ description: "Seconds between probes. Default 1." }),
  /** Seconds one probe may take. Default 5. */
  timeoutSeconds: seconds(5).meta({ description: "Seconds one probe may take. Default 5." }),
  /** Seconds the new container has to become healthy. Default 30. */
  deadlineSeconds: seconds(30)
    .pipe(z.number().int({ error: "expected a whole number of seconds" }))
    .meta({ description: "Whole seconds the new container has to become healthy; at least the interval and the timeout. Default 30." }),
});

/** A one-line shell command (`sh -c`), such as `example`. */
const shellCommand = (example: string) =>
  z
    .string({ error: `expected a shell command such as ${example}` })
    .regex(/^[^\n\r\0]*[^\s\0][^\n\r\0]*$/, { error: `expected a one-line shell command such as ${example}` })
    .max(1000, { error: "expected a command of at most 1000 characters: put a longer one in a script of the image" });

export const serviceSchema = z
  .strictObject({
    /** Service name (container name prefix). */
    name: z
      .string({ error: "expected a service name" })
      .regex(/^[a-z][a-z0-9-]{0,30}$/, { error: "expected a lower-case name such as app or api" })
      .meta({
        description:
          "Service name (container name prefix): a lower-case letter, then up to 30 lower-case letters, digits and dashes; unique across services. Required.",
        examples: ["app"],
      }),
    /** Image reference (registry/name:tag or @digest). */
    image: imageRef("ghcr.io/org/app:main").meta({
      description:
        "Image reference: `registry/name:tag`, or `name@sha256:<64 hex digits>`. A tag is resolved to its digest at every `pulumi up`, before any change: a new push under the same tag rolls out, the same bytes change nothing, and the host pulls that digest (not with `pullPolicy: never`). With `build`, the name of the image built. Required.",
      examples: ["ghcr.io/org/app:main"],
    }),
    /** Port the container listens on. */
    port: port.meta({ description: "Port the container listens on. Required.", examples: [3000] }),
    /** Build the image from this directory (relative to the project) instead of pulling it; `image` names the result. */
    build: z
      .strictObject({
        context: z
          .string({ error: "expected a directory of the project such as app" })
          .min(1, { error: "expected a directory of the project such as app" })
          .refine((context) => !isAbsolute(context) && !/^\.\.(\/|$)/.test(normalize(context)), {
            error: "expected a directory inside the project, relative to it, such as app (the build must not read files outside it)",
          })
          .meta({ description: "Directory the image is built from, relative to the project and inside it. Required with `build`." }),
        dockerfile: z.string().default("Dockerfile").meta({ description: "Name of the Dockerfile in `context`. Default `Dockerfile`." }),
      })
      .optional()
      .meta({
        description:
          "Build the image from a directory of the project instead of pulling it; `image` names the result. Not with `fromStack`. Default none (the image is pulled).",
      }),
    /**
     * Ship the image another stack runs: that stack's `images` output
     * for this service, by digest, so staging → prod deploys the same bytes. A fully qualified stack
     * name (`org/project/stack`); not with `build`. Default none.
     */
    fromStack: z
      .string({ error: "expected a stack name" })
      .regex(/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/, {
        error: "expected a fully qualified stack name such as fairnesscoop/permacoop-infra/staging",
      })
      .optional()
      .meta({
        description:
          "Ship the image another stack runs: that stack's `images` output for this service, by digest, so staging → prod deploys exactly the bytes staging tested (any host kind; `image` is then only a name). A fully qualified stack name (`org/project/stack`); not with `build`. Default none.",
        examples: ["fairnesscoop/permacoop-infra/staging"],
      }),
    /**
     * The release phase (Heroku's, Kamal's pre-deploy): a command run once per new version, in a
     * one-off container of the new image with the service's environment, before it takes traffic.
     * Default none.
     */
    release: z
      .strictObject({
        command: shellCommand("make database-migrate").meta({
          description:
            "Shell command (`sh -c`) run in a one-off container of the new image, on the environment's network, with the service's environment (secrets included). Required with `release`.",
          examples: ["make database-migrate"],
        }),
        timeoutSeconds: z
          .number({ error: "expected a number of seconds" })
          .int({ error: "expected a whole number of seconds" })
          .min(10, { error: "expected at least 10 seconds" })
          .max(3600, { error: "expected at most 3600 seconds" })
          .default(600)
          .meta({ description: "Deadline of the command: past it, the release container is removed and the rollout fails. Default 600." }),
      })
      .optional()
      .meta({
        description:
          "The release phase (migrations): a command run once per new version, after the pull and before the new version takes traffic. If it fails or times out, the rollout stops, the live version keeps serving, and `pulumi up` fails with the command's exit code and output. On a `container` database a dump is taken first. Migrations must work with the version still serving (expand, then contract). Not on `scaleway-container`. Default none.",
        examples: [{ command: "make database-migrate", timeoutSeconds: 600 }],
      }),
    /** When to pull: `missing` (default), `always`, `never`. */
    pullPolicy: z.enum(["missing", "always", "never"], { error: 'expected "missing", "always" or "never"' }).default("missing").meta({
      description:
        "When to pull the image: `missing` (default), `always`, `never`. `never`: the image is put on the host out of band and its tag is used as is, not resolved to a digest. A built image is never pulled.",
    }),
    /** Previous images kept on the host for fast rollbacks. Default 3. */
    keepImages: z.number().int().min(1).max(50).default(3).meta({ description: "Previous images kept on the host for fast rollbacks. Default 3." }),
    /** URL path prefix nginx routes to this service. Default `/`. */
    route: z
      .string()
      .regex(/^\/([A-Za-z0-9._~-]+\/)*$/, { error: "expected a path prefix starting and ending with / such as /api/" })
      .refine((route) => !route.split("/").some((segment) => segment === "." || segment === ".."), {
        error: "expected a normalised path prefix, without . or .. segments, such as /api/",
      })
      .default("/")
      .meta({
        description:
          "URL path prefix nginx routes to this service, starting and ending with `/` (such as `/api/`); unique across services. Must be `/` on a `scaleway-container` host (it routes by hostname). Default `/`.",
        examples: ["/api/"],
      }),
    /** Remove the route's prefix before the request reaches the service. Default false. */
    stripPrefix: z
      .boolean({ error: "expected true or false" })
      .default(false)
      .meta({
        description:
          "Remove the route's prefix before the request reaches the service: with `route` `/kit/`, `/kit/page?x=1` arrives as `/page?x=1` (Permacoop's second client). Needs a `route` other than `/`. Default false: the URI passes unchanged (Permacoop's `/api/`).",
        examples: [true],
      }),
    /** Seconds the edge waits for the service's next bytes. Default 60. */
    readTimeoutSeconds: z
      .number({ error: "expected a number of seconds" })
      .int({ error: "expected a whole number of seconds" })
      .min(1, { error: "expected at least 1 second" })
      .max(3600, { error: "expected at most 3600 seconds (an hour)" })
      .default(60)
      .meta({
        description:
          "Seconds the edge waits for the service's next bytes: a response, a stream's next event, a WebSocket's next message. Raise it for long reports or quiet streams (or have them send something more often). Default 60.",
        examples: [300],
      }),
    /** Largest request body this service accepts. Default `proxy.clientMaxBodySize`. */
    clientMaxBodySize: z
      .string()
      .regex(/^[0-9]{1,9}[kKmMgG]?$/, { error: "expected an nginx size such as 50m: up to 9 digits and an optional k, m or g" })
      .optional()
      .meta({
        description:
          "Largest request body this service accepts (nginx `client_max_body_size` on its route), such as `50m` for uploads. Default `proxy.clientMaxBodySize`.",
        examples: ["50m"],
      }),
    /** Containers of the service on its host. Default 1. */
    replicas: z
      .number({ error: "expected a number of containers" })
      .int({ error: "expected a whole number of containers" })
      .min(1, { error: "expected at least 1 container" })
      .max(20, { error: "expected at most 20 containers per host" })
      .default(1)
      .meta({
        description:
          "Containers of the service on its host, behind the switch (round robin; a replica that stops accepting connections is skipped until it accepts again, and an idempotent request it dropped goes to another). A rollout starts them all, health-checks each and switches them together. Not on `scaleway-container` (use `host.services.<name>.minScale`/`maxScale`). Default 1.",
        examples: [3],
      }),
    /** Path answering 2xx when the service is healthy. Default `/healthz`. */
    healthPath: z
      .string()
      // URL path and query characters only (RFC 3986), minus the ones curl globs ([]{}).
      .regex(/^\/[A-Za-z0-9._~%/:@!$&'()*+,;=-]*(\?[A-Za-z0-9._~%/:@!$&'()*+,;=?-]*)?$/, {
        error: "expected an absolute URL path such as /healthz (letters, digits and -._~%/:@!$&'()*+,;= only, an optional ?query)",
      })
      .default("/healthz")
      .meta({ description: "Absolute path answering 2xx when the service is healthy: URL path characters only, an optional `?query`. Default `/healthz`." }),
    /** Health-check timings. Defaults as kamal-proxy: 1 s interval, 5 s timeout, 30 s deadline. */
    healthCheck: healthCheckSchema
      .default({ intervalSeconds: 1, timeoutSeconds: 5, deadlineSeconds: 30 })
      .meta({ description: "Health-check timings. Defaults as kamal-proxy: 1 s interval, 5 s timeout, 30 s deadline." }),
    /** Plain environment variables. Names that look secret are refused here: use `secretEnv`. */
    env: z
      .record(
        z.string().regex(envName, { error: "expected an upper-case environment variable name" }).meta({ title: "variable name" }),
        z.string({ error: "expected a string value" }).regex(/^[^\n\r\0]*$/, {
          error: "expected a one-line value (no newline, carriage return or NUL: Docker's env file cannot carry them)",
        }),
      )
      .default({})
      .meta({
        description:
          "Plain environment variables: upper-case name → string value. Names that look secret (`…_TOKEN`, `…_SECRET`, `…_PASSWORD`…) are refused here: use `secretEnv`. `DATABASE_*` are refused too: the program provides them from the database it manages. Default none.",
        examples: [{ NODE_ENV: "production", TZ: "Europe/Paris" }],
      }),
    /** Secret environment variables: variable name → name of a secret `permacoop:` config key. */
    secretEnv: z
      .record(
        z.string().regex(envName, { error: "expected an upper-case environment variable name" }).meta({ title: "variable name" }),
        z.string().regex(secretKeyName, { error: "expected the name of a permacoop: config key such as calendarToken" }).meta({
          title: "secret key name",
          description:
            "A secret `permacoop:` config key named in lower camelCase (such as `calendarToken`), whose value the service receives in the environment variable that names it. Set it with `pulumi config set --secret permacoop:<name>`, typed at the prompt or piped on stdin, never on the command line. It is refused in plaintext, and a secret no service reads is refused too.",
        }),
      )
      .default({})
      .meta({
        description:
          "Secret environment variables: upper-case variable name → name of a secret `permacoop:` config key (lower camelCase, such as `calendarToken`), set with `pulumi config set --secret`. Default none.",
        examples: [{ CALENDAR_TOKEN: "calendarToken" }],
      }),
  })
  .superRefine(checkServiceRules)
  .meta({
    description: "One service: a container image, the port it listens on, its route and its health check.",
    examples: [
      {
        name: "app",
        image: "ghcr.io/fairnesscoop/permacoop:main",
        port: 3000,
        env: { NODE_ENV: "production" },
        secretEnv: { CALENDAR_TOKEN: "calendarToken" },
      },
    ],
  });

/** Structured keys of the contract; any other `permacoop:` key is a secret referenced by name. */
/** A private registry the hosts log in to (and the program resolves tags against). */
/** A cron schedule: five fields (minute hour day-of-month month day-of-week), or a macro such as @daily. */
const CRON_FIELD = "[0-9A-Za-z*/,-]+";
const cronSchedule = z
  .string({ error: "expected a cron schedule such as 0 3 * * *" })
  .regex(new RegExp(`^(@(hourly|daily|weekly|monthly|yearly|annually|midnight)|${CRON_FIELD}( ${CRON_FIELD}){4})$`), {
    error:
      "expected a cron schedule: five fields separated by one space (minute hour day-of-month month day-of-week) such as 0 3 * * *, or @hourly, @daily, @weekly, @monthly",
  });

export const jobSchema = z
  .strictObject({
    name: z
      .string({ error: "expected a job name" })
      .regex(/^[a-z][a-z0-9-]{0,30}$/, { error: "expected a lower-case name such as nightly-report" })
      .meta({
        description: "Job name: a lower-case letter, then up to 30 lower-case letters, digits and dashes; unique across jobs. Required.",
        examples: ["nightly-report"],
      }),
    service: serviceName.meta({
      description: "The service whose live image and environment (secrets included) the job runs with. Required.",
      examples: ["app"],
    }),
    schedule: cronSchedule.meta({
      description:
        "When it runs, in the host's crontab syntax and time zone: five fields (minute hour day-of-month month day-of-week) or a macro (`@hourly`, `@daily`, ...). Required.",
      examples: ["0 3 * * *", "*/15 * * * *"],
    }),
    command: shellCommand("make report").meta({
      description:
        "Shell command (`sh -c`) run in a one-off container of the service's live image, on the environment's network, with the service's environment. One run at a time: a run due while the previous one still runs is skipped (said in the job's log). Required.",
      examples: ["make report"],
    }),
    timeoutSeconds: z
      .number({ error: "expected a number of seconds" })
      .int({ error: "expected a whole number of seconds" })
      .min(10, { error: "expected at least 10 seconds" })
      .max(86_400, { error: "expected at most 86400 seconds (a day)" })
      .default(3600)
      .meta({ description: "Deadline of a run: past it, its container is removed and the run counts as failed. Default 3600." }),
  })
  .meta({ title: "job", description: "A scheduled job: a command, its schedule, and the service whose live image and environment it runs with." });

/** An accessory's name: a DNS label short enough for a container name and an S3 bucket (3 to 32 characters). */
const accessoryName = z
  .string({ error: "expected an accessory name" })
  .regex(/^[a-z][a-z0-9-]{1,30}[a-z0-9]$/, { error: "expected a lower-case name of 3 to 32 characters such as cache or files" })
  .meta({
    description: "Accessory name: 3 to 32 lower-case letters, digits and dashes, starting with a letter; unique across accessories. Required.",
    examples: ["cache"],
  });

/** The prefix of the variables the services receive (`<prefix>_URL`, …). */
const envPrefixPattern = z
  .string({ error: "expected an upper-case variable prefix such as REDIS" })
  .regex(/^[A-Z][A-Z0-9_]{0,30}$/, { error: "expected an upper-case variable prefix such as REDIS (letters, digits and _)" });
const envPrefix = (fallback: string) => envPrefixPattern.default(fallback);

export const s3AccessorySchema = z
  .strictObject({
    name: accessoryName,
    type: z.literal("s3").meta({ description: "`s3`: an S3-compatible object store (MinIO) with one bucket." }),
    image: imageRef("minio/minio:latest").default("minio/minio:latest").meta({
      description:
        "Image of the object store: MinIO's, or one that runs as it does (`minio server /data`, `MINIO_ROOT_USER`/`MINIO_ROOT_PASSWORD`, port 9000). Default `minio/minio:latest`.",
    }),
    bucket: z
      .string({ error: "expected a bucket name" })
      .regex(/^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/, { error: "expected a bucket name of 3 to 63 lower-case letters, digits and dashes such as files" })
      .optional()
      .meta({
        description: "The bucket the program creates and the services receive as `<envPrefix>_BUCKET`. Default the accessory's name.",
        computedDefault: "the accessory's `name`",
      }),
    envPrefix: envPrefix("S3").meta({
      description:
        "Prefix of the variables each service receives (secret): `<prefix>_ENDPOINT`, `<prefix>_BUCKET`, `<prefix>_ACCESS_KEY_ID`, `<prefix>_SECRET_ACCESS_KEY`, `<prefix>_REGION`. Default `S3`.",
    }),
  })
  .meta({
    title: "s3 accessory",
    description:
      "An S3-compatible object store (MinIO's image, `minio server /data`) with one bucket the program creates; its data in the accessory's volume, backed up as a mirror of the bucket (one file per object).",
    examples: [{ name: "files", type: "s3" }],
  });

export const redisAccessorySchema = z
  .strictObject({
    name: accessoryName,
    type: z.literal("redis").meta({ description: "`redis`: a Redis server with a password, its data (RDB snapshots) in a volume." }),
    image: imageRef("redis:7").default("redis:7").meta({ description: "Redis image (with `redis-server` and `redis-cli` on its PATH). Default `redis:7`." }),
    envPrefix: envPrefix("REDIS").meta({
      description:
        "Prefix of the variable each service receives (secret): `<prefix>_URL` (`redis://:<password>@<host>:6379/0` from a container; `rediss://…` from Scaleway's managed Redis). Default `REDIS`.",
    }),
    nodeType: z
      .string({ error: "expected a Scaleway Redis node type such as RED1-MICRO" })
      .regex(/^RED1-[A-Z0-9-]+$/, { error: "expected a Scaleway Redis node type such as RED1-MICRO" })
      .default("RED1-MICRO")
      .meta({ description: "On a Scaleway host (a Managed Database for Redis): its node type. Default `RED1-MICRO`." }),
    version: z
      .string({ error: "expected a Redis version such as 7.0.5" })
      .regex(/^[0-9]+\.[0-9]+\.[0-9]+$/, { error: "expected a Redis version such as 7.0.5" })
      .default("7.0.5")
      .meta({
        description: "On a Scaleway host (a Managed Database for Redis): its Redis version, one Scaleway offers (`scw redis version list`). Default `7.0.5`.",
      }),
  })
  .meta({
    title: "redis accessory",
    description:
      "Redis with a generated password (read from a file in its container, never its command line), RDB snapshots in the accessory's volume, backed up as an RDB snapshot streamed from a fork (it keeps serving).",
    examples: [{ name: "cache", type: "redis" }],
  });

export const genericAccessorySchema = z
  .strictObject({
    name: accessoryName,
    type: z.literal("generic").meta({ description: "`generic`: any image with one data directory and one port." }),
    image: imageRef("getmeili/meilisearch:v1.10").meta({ description: "Image. Required.", examples: ["getmeili/meilisearch:v1.10"] }),
    port: port.meta({ description: "Port it listens on, on the environment's network. Required.", examples: [7700] }),
    dataPath: z
      .string({ error: "expected an absolute path such as /data" })
      .regex(/^(\/[A-Za-z0-9_-][A-Za-z0-9._-]*)+$/, {
        error: "expected an absolute directory other than / such as /data: segments of letters, digits, . _ - (no . or .. segment, no trailing /)",
      })
      .meta({ description: "Directory in the container its data lives in (the accessory's volume is mounted there). Required.", examples: ["/meili_data"] }),
    env: z
      .record(
        z.string().regex(envName, { error: "expected an upper-case environment variable name" }).meta({ title: "variable name" }),
        z.string({ error: "expected a string value" }).regex(/^[^\n\r\0]*$/, { error: "expected a one-line value (no newline, carriage return or NUL)" }),
      )
      .default({})
      .meta({ description: "Plain environment variables of the accessory's container (secret-looking values refused: use `passwordEnv`). Default none." }),
    passwordEnv: z
      .string()
      .regex(envName, { error: "expected an upper-case environment variable name such as MEILI_MASTER_KEY" })
      .optional()
      .meta({
        description:
          "The variable in which the accessory reads a password: the program generates one (kept secret in the state) and hands it to the services as `<envPrefix>_PASSWORD`. Default none.",
        examples: ["MEILI_MASTER_KEY"],
      }),
    envPrefix: envPrefixPattern.optional().meta({
      description:
        "Prefix of the variables each service receives (secret): `<prefix>_HOST`, `<prefix>_PORT` and, with `passwordEnv`, `<prefix>_PASSWORD`. Default the name in upper case, `-` as `_`.",
      computedDefault: "the accessory's `name` in upper case, `-` as `_`",
    }),
  })
  .meta({
    title: "generic accessory",
    description:
      "Any image with one data directory (the accessory's volume mounted there) and one port; backed up as a tar of that directory, taken with the container paused.",
    examples: [{ name: "search", type: "generic", image: "getmeili/meilisearch:v1.10", port: 7700, dataPath: "/meili_data", passwordEnv: "MEILI_MASTER_KEY" }],
  });

export const accessorySchema = z.discriminatedUnion("type", [s3AccessorySchema, redisAccessorySchema, genericAccessorySchema], {
  error: 'expected accessory type "s3", "redis" or "generic"',
});

export const registrySchema = z
  .strictObject({
    address: z
      .string({ error: "expected a registry address such as ghcr.io" })
      .regex(/^(http:\/\/)?[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[0-9]{1,5})?$/, {
        error: "expected a registry host[:port] such as ghcr.io or registry.example.org:5000 (http://host:port for a plain-HTTP test registry)",
      })
      .meta({
        description:
          "Registry host, as image references name it (`ghcr.io`, `rg.fr-par.scw.cloud`, `registry.example.org:5000`); `http://host:port` for a plain-HTTP registry (tests only). Required.",
        examples: ["ghcr.io"],
      }),
    username: z.string({ error: "expected a user name" }).min(1, { error: "expected a user name" }).meta({ description: "User name of the login. Required." }),
    passwordSecret: z
      .string({ error: "expected the name of a secret permacoop: config key" })
      .regex(secretKeyName, { error: "expected the name of a permacoop: config key such as ghcrToken" })
      .meta({
        description:
          "Name of the secret `permacoop:` key holding the password or token (`pulumi config set --secret permacoop:<name>`, piped on stdin). It reaches each host's `docker login` on stdin, never argv or logs. Required.",
        examples: ["ghcrToken"],
      }),
  })
  .meta({
    description: "One registry login: its address, user and the secret key holding its password or token.",
    examples: [{ address: "ghcr.io", username: "permacoop-bot", passwordSecret: "ghcrToken" }],
  });

/** `host[:port]` of a registry address (its scheme, if any, dropped): what `docker login` and image references name. */
export function registryLoginHost(address: string): string {
  return address.replace(/^http:\/\//, "");
}

export const stackConfigSchema = z
  .strictObject({
    host: hostSchema.meta({
      description:
        "Where the environment runs, chosen by `kind`: a Scaleway VM this stack creates (`scaleway-vm`), this machine's Docker engine (`local`), an existing server reached over SSH (`ssh`), Scaleway Serverless Containers (`scaleway-container`), or a VM on this machine booted by the same cloud-init as a Scaleway VM (`local-vm`). Required.",
    }),
    database: databaseSchema.meta({
      description:
        "The PostgreSQL database, chosen by `kind`: a Scaleway Managed Database (`scaleway-managed`) or PostgreSQL in a container on the host (`container`). The program hands it to the services as `DATABASE_*` variables. Required.",
    }),
    dns: dnsSchema.meta({ description: "The hostnames this environment serves, and who creates their DNS records. Required." }),
    tls: tlsSchema
      .default({
        enabled: true,
        acmeDirectory: "https://acme-v02.api.letsencrypt.org/directory",
        certbotImage: "certbot/certbot:latest",
        deadlineSeconds: 120,
      })
      .meta({
        description:
          "HTTPS: a certificate per hostname from an ACME server (Let's Encrypt by default), renewed by certbot; on `scaleway-container`, the platform's own. Default: enabled, with Let's Encrypt production; `email` is then required.",
      }),
    proxy: proxySchema.default({ image: "nginx:stable", switchImage: "haproxy:lts", clientMaxBodySize: "10m" }).meta({
      description:
        "The nginx edge (TLS, routes) and the HAProxy switch (zero-downtime rollouts) in front of the services; not used on `scaleway-container`. Default: each field's default.",
    }),
    services: z.array(serviceSchema, { error: "expected a list of services" }).min(1, { error: "expected at least one service" }).meta({
      description: "The application's services: a list of at least one, with unique names and (except on `scaleway-container`) unique routes. Required.",
    }),
    jobs: z
      .array(jobSchema, { error: "expected a list of jobs" })
      .default([])
      .meta({
        description:
          "Scheduled jobs (Heroku Scheduler, cron): commands run on a schedule in a one-off container of a service's live image with its environment; their output is kept on the host (`npm run ops -- jobs`). Docker hosts only. Default none.",
        examples: [[{ name: "nightly-report", service: "app", schedule: "0 3 * * *", command: "make report" }]],
      }),
    accessories: z
      .array(accessorySchema, { error: "expected a list of accessories" })
      .default([])
      .meta({
        description:
          "Stateful side services (Kamal's accessories): an S3 object store (`s3`), Redis (`redis`) or any image with a data directory (`generic`), each in a container of its own with a named volume, protected like the database, backed up with it (`npm run backup`), never rolled like the services: a change restarts it (the preview shows its step updated). Every service receives its connection variables as secrets. Docker hosts only. Default none.",
        examples: [
          [
            { name: "files", type: "s3" },
            { name: "cache", type: "redis" },
          ],
        ],
      }),
    rollout: z
      .strictObject({
        /** Hosts updated at once after the first. Default 1. */
        parallel: z
          .number({ error: "expected a number of hosts" })
          .int({ error: "expected a whole number of hosts" })
          .min(1, { error: "expected at least 1 host at a time" })
          .max(20, { error: "expected at most 20 hosts at a time" })
          .default(1)
          .meta({
            description:
              "With several hosts, how many are rolled out at once after the first (which goes alone: it runs the release phase and is the canary). Each host's rollout is health-gated; the first that fails stops the rollout, naming it. Default 1.",
          }),
      })
      .default({ parallel: 1 })
      .meta({
        description:
          "How a new version reaches several hosts (`host.count`, `host.hosts`): the first host alone, then `parallel` at a time, each wave after the previous one succeeded. Both versions serve during a rollout: migrations must be expand-then-contract. Default: one host at a time.",
      }),
    registries: z.array(registrySchema, { error: "expected a list of registries" }).default([]).meta({
      description:
        "Private registries: every host logs in to each (`docker login --password-stdin`) before a rollout pulls, and the program resolves tags against them with the same login. Default none (public images only).",
    }),
    buildRegistry: z
      .string({ error: "expected a repository prefix such as ghcr.io/fairnesscoop" })
      .regex(/^[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[0-9]{1,5})?(\/[a-z0-9]+([._-][a-z0-9]+)*)+$/, {
        error: "expected a registry host and a lower-case path such as ghcr.io/fairnesscoop or rg.fr-par.scw.cloud/permacoop-prod",
      })
      .optional()
      .meta({
        description:
          "Where the services with `build` are pushed for a server elsewhere (`ssh`, `scaleway-vm`): built once on the machine running Pulumi, pushed as `<buildRegistry>/<service>:<context hash>`, pulled by digest on the host. Its login, if it needs one, is the `registries` entry of its host. Default none: on `scaleway-vm`, a private namespace of the Scaleway registry (`host.registryNamespace`) with a read-only key for the VM; on `ssh`, `build` is refused.",
        examples: ["ghcr.io/fairnesscoop", "rg.fr-par.scw.cloud/permacoop-prod"],
      }),
  })
  .superRefine(checkCrossKeyRules)
  .meta({
    description:
      "The configuration of a stack: the structured `permacoop:` keys below, and secrets referenced by name. The program checks all of it before declaring any resource, and a bad configuration fails with one message listing every problem, each with the command that fixes it.",
  });

export { isDataProtected } from "./protection";

export type StackConfigInput = z.input<typeof stackConfigSchema>;
/** What the schema outputs, host and database as independent unions (the loader pairs them). */
export type ParsedStackConfig = z.output<typeof stackConfigSchema>;
/**
 * The validated configuration. Host and database come in the pairs the schema's refinements
 * admit, so code cannot even express an impossible one (a managed database on a local host).
 */
export type StackConfig = Omit<ParsedStackConfig, "host" | "database"> &
  (
    | { host: LocalHostConfig; database: ContainerDatabaseConfig }
    | { host: SshHostConfig; database: ContainerDatabaseConfig | ExternalDatabaseConfig }
    | { host: LocalVmHostConfig; database: ContainerDatabaseConfig }
    | { host: ScalewayVmHostConfig; database: ContainerDatabaseConfig | ManagedDatabaseConfig }
    | { host: ScalewayContainerHostConfig; database: ManagedDatabaseConfig }
  );
/** The configuration of a stack whose host is of kind `K` (its database narrowed with it). */
export type StackConfigOf<K extends HostConfig["kind"]> = Extract<StackConfig, { host: { kind: K } }>;
/** Narrows a configuration to its host kind, host and database together. */
export function hasHostKind<K extends HostConfig["kind"]>(config: StackConfig, kind: K): config is StackConfigOf<K> {
  return config.host.kind === kind;
}
export type HostConfig = ParsedStackConfig["host"];
export type ScalewayVmHostConfig = z.output<typeof scalewayVmHostSchema>;
export type LocalHostConfig = z.output<typeof localHostSchema>;
export type SshHostConfig = z.output<typeof sshHostSchema>;
export type LocalVmHostConfig = z.output<typeof localVmHostSchema>;
export type ScalewayContainerHostConfig = z.output<typeof scalewayContainerHostSchema>;
export type ContainerDatabaseConfig = z.output<typeof containerDatabaseSchema>;
export type DatabaseConfig = ParsedStackConfig["database"];
export type ManagedDatabaseConfig = z.output<typeof managedDatabaseSchema>;
export type ExternalDatabaseConfig = z.output<typeof externalDatabaseSchema>;
export type DnsConfig = StackConfig["dns"];
export type TlsConfig = StackConfig["tls"];
export type ServiceConfig = StackConfig["services"][number];
export type JobConfig = StackConfig["jobs"][number];
export type AccessoryConfig = StackConfig["accessories"][number];

/** The structured keys, in the order they are documented. */
export const STRUCTURED_KEYS = Object.keys(stackConfigSchema.shape) as (keyof StackConfig)[];
