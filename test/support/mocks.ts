/**
 * The one Pulumi mocks harness of the unit tests: the mock provider's state (what a real provider
 * would compute for each resource type), installing the mocks, recording what the program
 * declares, running index.ts under the mocks, and the config helpers.
 */
import { createHash } from "node:crypto";
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { parseStackConfig } from "../../components/config/load";
import { StackConfig, StackConfigInput } from "../../components/config/schema";
import { stackConfig } from "./stackFiles";

/** The project name the mocks run the program under (Pulumi.yaml's `name`). */
export const PROJECT = "permacoop-infra";

/** The URN the engine gives a resource of the program. */
export function urnOf(stack: string, type: string, name: string): string {
  return `urn:pulumi:${stack}::${PROJECT}::${type}::${name}`;
}

/** A resource declared by the program under test, as a transformation sees it: its inputs and options. */
export interface Declared {
  readonly type: string;
  readonly name: string;
  readonly props: Record<string, unknown>;
  readonly opts: pulumi.ResourceOptions;
}

/** A resource registered with the mock provider (custom or component), as the engine would see it. */
export interface Registered {
  readonly type: string;
  readonly name: string;
  readonly custom: boolean;
}

/** Outputs other stacks export, by fully qualified stack name: what a StackReference reads under the mocks. */
export const STACK_OUTPUTS: Record<string, Record<string, unknown>> = {};

/** A deterministic `sha256:…` digest of a string. */
export function fakeDigest(of: string): string {
  return `sha256:${createHash("sha256").update(of).digest("hex")}`;
}

/** What a host command prints on a host where nothing was deployed (an empty home, a Docker engine with nothing). */
function probeOnEmptyHost(command: string): string {
  const home = mkdtempSync(join(tmpdir(), "mock-host-"));
  try {
    mkdirSync(join(home, "bin"));
    writeFileSync(join(home, "bin", "docker"), "#!/bin/sh\nexit 1\n", { mode: 0o755 });
    return execFileSync("sh", ["-c", command], { env: { PATH: `${join(home, "bin")}:${process.env.PATH}`, HOME: home }, encoding: "utf8" }).trimEnd();
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}

/** Mock provider state: what a real provider would compute for each resource type. */
function computedState(type: string, name: string, inputs: Record<string, unknown>): Record<string, unknown> {
  switch (type) {
    case "scaleway:instance/ip:Ip":
      // The first VM's address is 203.0.113.10; the VM `…-host<N>`'s, 203.0.113.<9+N>.
      return inputs.type === "routed_ipv6"
        ? { ...inputs, prefix: "2001:db8:1::/64", address: "" }
        : { ...inputs, address: `203.0.113.${9 + Number(/-host(\d+)-ipv4$/.exec(name)?.[1] ?? 1)}` };
    case "scaleway:ipam/ip:Ip":
      // A VM's address on the Private Network: 172.16.0.<10+N> for the VM `…-host<N>`, .11 for the first.
      return { ...inputs, address: `172.16.0.${10 + Number(/-host(\d+)-private-ipv4$/.exec(name)?.[1] ?? 1)}` };
    case "scaleway:loadbalancers/ip:Ip":
      return { ...inputs, ipAddress: "203.0.113.100" };
    case "scaleway:loadbalancers/certificate:Certificate":
      return { ...inputs, status: "ready" };
    case "scaleway:instance/server:Server":
      return {
        ...inputs,
        publicIps: [
          { id: "ip4", address: "203.0.113.10", family: "inet", dynamic: false, gateway: "", netmask: "", provisioningMode: "" },
          { id: "ip6", address: "2001:db8:1::1", family: "inet6", dynamic: false, gateway: "", netmask: "", provisioningMode: "" },
        ],
      };
    case "scaleway:databases/instance:Instance":
      return inputs.privateNetwork
        ? { ...inputs, privateNetwork: { ...(inputs.privateNetwork as object), endpointId: "pn", ip: "172.16.0.2", port: 5432 } }
        : { ...inputs, loadBalancer: { endpointId: "lb", hostname: "", ip: "198.51.100.20", name: "", port: 5432 } };
    case "scaleway:registry/namespace:Namespace":
      return { ...inputs, endpoint: `rg.${inputs.region}.scw.cloud/${inputs.name}`, projectId: "11111111-2222-3333-4444-555555555555" };
    case "scaleway:object/bucket:Bucket":
      return { ...inputs, projectId: "11111111-2222-3333-4444-555555555555" };
    case "scaleway:redis/cluster:Cluster":
      return inputs.privateNetworks
        ? {
            ...inputs,
            privateNetworks: [{ ...(inputs.privateNetworks as object[])[0], endpointId: "pn", ips: ["172.16.0.3/22"], port: 6379, zone: inputs.zone }],
          }
        : {
            ...inputs,
            publicNetwork: { id: "public", ips: ["198.51.100.30"], port: 6379 },
            certificate: "-----BEGIN CERTIFICATE-----\nmock\n-----END CERTIFICATE-----\n",
          };
    case "scaleway:iam/apiKey:ApiKey":
      return { ...inputs, accessKey: "SCWACCESSKEYMOCK0000", secretKey: `mock-secret-key-of-${name}` };
    case "scaleway:containers/container:Container":
      return { ...inputs, domainName: `permacoop${inputs.name}-x1y2.functions.fnc.${inputs.region}.scw.cloud` };
    case "docker:index/remoteImage:RemoteImage":
      return { ...inputs, imageId: fakeDigest(`local ${inputs.name}`) };
    case "docker:index/registryImage:RegistryImage":
      return { ...inputs, sha256Digest: fakeDigest(`pushed ${inputs.name}`) };
    case "pulumi:pulumi:StackReference":
      return { ...inputs, outputs: STACK_OUTPUTS[inputs.name as string] ?? {} };
    case "command:local:Command":
    case "command:remote:Command":
      // The environment-id probe runs for real, against a host with nothing of ours yet.
      return name.endsWith("-env-id") && typeof inputs.create === "string" ? { ...inputs, stdout: probeOnEmptyHost(inputs.create) } : inputs;
    case "random:index/randomId:RandomId":
      return { ...inputs, hex: Buffer.from(name).toString("hex").slice(0, 16) };
    case "random:index/randomBytes:RandomBytes":
      return { ...inputs, base64: Buffer.alloc(32, name.length).toString("base64") };
    case "random:index/randomPassword:RandomPassword":
      return { ...inputs, result: `pw-${name}` };
    default:
      return inputs;
  }
}

/** How to install the mocks: which SDK instance, preview or update, who hears each registration. */
export interface MockOptions {
  /** The @pulumi/pulumi to install them in (another module registry's); this registry's by default. */
  readonly sdk?: typeof pulumi;
  /** Whether the program runs as in a preview (the engine's dry run). */
  readonly dryRun?: boolean;
  /** Called for each resource the mock provider registers. */
  readonly onRegister?: (resource: Registered) => void;
}

/**
 * Installs Pulumi mocks once per test file (re-installing them while a previous program's
 * outputs are still settling makes the old registrations fail).
 */
export async function installMocks(stack = "test", options: MockOptions = {}): Promise<void> {
  const { sdk = pulumi, dryRun = false, onRegister } = options;
  await sdk.runtime.setMocks(
    {
      newResource: (args) => {
        onRegister?.({ type: args.type, name: args.name, custom: args.custom ?? true });
        return { id: `${args.name}-id`, state: computedState(args.type, args.name, args.inputs) };
      },
      call: (args) =>
        args.token === "docker:index/getRegistryImage:getRegistryImage" ? { ...args.inputs, sha256Digest: mockDigest(String(args.inputs.name)) } : {},
    },
    PROJECT,
    stack,
    dryRun,
  );
}

/** The digest the mock registry reports for an image reference: stable, and different per reference. */
export function mockDigest(image: string): string {
  return `sha256:${createHash("sha256").update(image).digest("hex")}`;
}

/** A resource transformation that records each declaration into `declared`. */
export function recorder(declared: Declared[]): pulumi.ResourceTransformation {
  return (args) => {
    declared.push({ type: args.type, name: args.name, props: args.props as Record<string, unknown>, opts: args.opts });
    return undefined;
  };
}

/** Resolves an Output (or plain value) for assertions. */
export function valueOf<T>(value: pulumi.Input<T>): Promise<T> {
  return new Promise((resolve) => pulumi.output(value).apply((v) => resolve(v as T)));
}

/**
 * Runs index.ts under the mocks (as in a preview) with a stack's configuration, in an isolated
 * module registry (index.ts reads config at load time). Resolves with every registered resource
 * and the error the program threw, if any.
 */
export async function runProgram(stack: string, raw?: Record<string, string>, secretKeys?: string[]): Promise<{ resources: Registered[]; error?: unknown }> {
  const config = raw ? { raw, secretKeys: secretKeys ?? [] } : stackConfig(stack);
  const registered: Registered[] = [];
  let loadError: unknown;
  await jest.isolateModulesAsync(async () => {
    const sdk = require("@pulumi/pulumi") as typeof import("@pulumi/pulumi");
    await installMocks(stack, { sdk, dryRun: true, onRegister: (resource) => registered.push(resource) });
    sdk.runtime.setAllConfig(config.raw, config.secretKeys);
    try {
      // The program resolves images before it declares resources: its module exports that promise.
      await (require("../../index") as Promise<unknown>);
    } catch (error) {
      loadError = error;
    }
  });
  // Let registrations triggered by resolved outputs finish.
  await new Promise((resolve) => setTimeout(resolve, 200));
  return { resources: registered, error: loadError };
}

/** Counts of custom resources (all of them when `custom` is not told) by type token. */
export function countByType(resources: readonly { readonly type: string; readonly custom?: boolean }[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const r of resources) if (r.custom !== false) counts[r.type] = (counts[r.type] ?? 0) + 1;
  return Object.fromEntries(Object.entries(counts).sort(([a], [b]) => a.localeCompare(b)));
}

/** A valid configuration the tests derive malformed ones from. */
export function validConfigInput(): StackConfigInput {
  return {
    host: {
      kind: "scaleway-vm",
      adminCidrs: ["198.51.100.0/24"],
      sshPublicKeys: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHc2p5Zb0Q9y8m7x3kVt4Jb9qW1eR6tY2uI8oP0aS4dF ops@example.org"],
    },
    database: { kind: "scaleway-managed" },
    dns: { provider: "scaleway", zone: "example.org", hostnames: ["app.example.org"] },
    tls: { enabled: true, email: "ops@example.org" },
    services: [{ name: "app", image: "ghcr.io/example/app:main", port: 3000, env: { NODE_ENV: "production" }, secretEnv: { CALENDAR_TOKEN: "calendarToken" } }],
  };
}

/** Raw Pulumi config (as the engine hands it to the program) from structured values and secrets. */
export function rawConfig(input: Record<string, unknown>, secrets: Record<string, string> = {}): { raw: Record<string, string>; secretKeys: Set<string> } {
  const raw: Record<string, string> = {};
  for (const [key, value] of Object.entries(input)) raw[`permacoop:${key}`] = typeof value === "string" ? value : JSON.stringify(value);
  for (const [key, value] of Object.entries(secrets)) raw[`permacoop:${key}`] = value;
  return { raw, secretKeys: new Set(Object.keys(secrets).map((key) => `permacoop:${key}`)) };
}

/** Parses a structured config input the way index.ts does. */
export function parse(input: Record<string, unknown>, secrets: Record<string, string> = { calendarToken: "s3cret" }, stack = "test"): StackConfig {
  const { raw, secretKeys } = rawConfig(input, secrets);
  return parseStackConfig(stack, raw, secretKeys).config;
}
