import * as pulumi from "@pulumi/pulumi";
import { Environment } from "../../../../components/environment";
import { rolloutWaves } from "../../../../components/runtime/contract";
import { installedScript } from "../../../support/hostScripts";
import { Declared, installMocks, parse, recorder, valueOf } from "../../../support/mocks";

beforeAll(() => installMocks());

const KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHc2p5Zb0Q9y8m7x3kVt4Jb9qW1eR6tY2uI8oP0aS4dF";
const SERVERS = ["10.0.0.11", "10.0.0.12", "10.0.0.13"];
/** The runtime of server `n` (1-based), named by its address. */
const runtimeOf = (n: number) => `prod-host-${SERVERS[n - 1]!.replace(/\./g, "-")}-runtime`;

function severalConfig(overrides: Record<string, unknown> = {}) {
  return {
    host: { kind: "ssh", hosts: SERVERS.map((address) => ({ address, hostKey: KEY })), loadBalancerAddress: "203.0.113.10" },
    database: { kind: "external", host: "10.0.0.5" },
    dns: { provider: "external", hostnames: ["permacoop.example.org"] },
    tls: { enabled: true, email: "ops@example.org" },
    services: [{ name: "app", image: "ghcr.io/example/app:1", port: 3000, release: { command: "make database-migrate" } }],
    jobs: [{ name: "nightly", service: "app", schedule: "0 3 * * *", command: "make report" }],
    ...overrides,
  };
}

async function build(overrides: Record<string, unknown> = {}) {
  const declared: Declared[] = [];
  const secrets = { sshPrivateKey: "-----BEGIN OPENSSH PRIVATE KEY-----\nx\n-----END OPENSSH PRIVATE KEY-----\n", databasePassword: "db-pass-value" };
  const config = parse(severalConfig(overrides), secrets, "prod");
  const env = new Environment(
    "prod",
    { name: "prod", config, secrets: Object.fromEntries(Object.entries(secrets).map(([k, v]) => [k, pulumi.secret(v)])) },
    { transformations: [recorder(declared)] },
  );
  await valueOf(env.serviceEnv.app!);
  const commands = declared.filter((d) => d.type === "command:remote:Command");
  const named = (name: string) => {
    const found = commands.find((c) => c.name === name);
    if (!found) throw new Error(`no command ${name} among ${commands.map((c) => c.name).join(", ")}`);
    return found;
  };
  const scriptOf = async (host: number, step: string) =>
    installedScript(
      await valueOf(named(`${runtimeOf(host)}-scripts`).props.stdin as pulumi.Input<string>),
      await valueOf(named(`${runtimeOf(host)}-${step}`).props.create as pulumi.Input<string>),
    );
  const dependsOnUrns = async (name: string) =>
    Promise.all(((named(name).opts.dependsOn ?? []) as pulumi.Resource[]).map((r) => valueOf((r as pulumi.CustomResource).urn)));
  return { env, declared, commands, named, scriptOf, dependsOnUrns };
}

describe("several ssh servers (host.hosts)", () => {
  it("orders hosts in waves: the first alone, then rollout.parallel at a time", () => {
    expect(rolloutWaves(1, 1)).toEqual([[0]]);
    expect(rolloutWaves(3, 1)).toEqual([[0], [1], [2]]);
    expect(rolloutWaves(5, 2)).toEqual([[0], [1, 2], [3, 4]]);
    expect(rolloutWaves(3, 10)).toEqual([[0], [1, 2]]);
    expect(rolloutWaves(0, 1)).toEqual([]);
  });

  it("declares one runtime per server, each reached over SSH at its own address, named host<N>", async () => {
    const { commands, named } = await build();
    for (const [i, address] of SERVERS.entries()) {
      const connection = await valueOf(named(`${runtimeOf(i + 1)}-app-rollout`).props.connection as pulumi.Input<Record<string, unknown>>);
      expect(connection).toMatchObject({ host: address, port: 22, user: "deploy", hostKey: KEY });
      expect(commands.some((c) => c.name === `${runtimeOf(i + 1)}-env-id`)).toBe(true);
    }
    // No step keeps the one-host names, and no container database is declared.
    expect(commands.filter((c) => c.name.startsWith("prod-runtime-"))).toEqual([]);
    expect(commands.some((c) => c.name.endsWith("-data"))).toBe(false);
  });

  it("names each server's steps by its address; the first keeps the one-server names as an alias (from one server to several, nothing is deleted there)", async () => {
    const { declared } = await build();
    const runtimes = declared.filter((d) => d.type === "permacoop:index:DockerRuntime");
    expect(runtimes.map((r) => r.name)).toEqual([1, 2, 3].map(runtimeOf));
    expect(runtimes.map((r) => r.opts.aliases)).toEqual([[{ name: "prod-runtime" }], undefined, undefined]);
    const probes = declared.filter((d) => d.name.endsWith("-env-id"));
    expect(probes.map((p) => p.opts.aliases)).toEqual([[{ name: "prod-runtime-env-id" }], undefined, undefined]);
    // And back to one server: it keeps the steps it had as the first of several.
    const one = await build({ host: { kind: "ssh", hosts: [{ address: "10.0.0.11", hostKey: KEY }], loadBalancerAddress: "203.0.113.10" } });
    const single = one.declared.filter((d) => d.type === "permacoop:index:DockerRuntime");
    expect(single.map((r) => [r.name, r.opts.aliases])).toEqual([["prod-runtime", [{ name: "prod-host-10-0-0-11-runtime" }]]]);
    const other = await build({
      host: {
        kind: "ssh",
        hosts: [
          { address: "10.0.0.11", hostKey: KEY },
          { address: "2001:db8::7", hostKey: KEY, port: 2222 },
        ],
        loadBalancerAddress: "203.0.113.10",
      },
    });
    expect(other.declared.filter((d) => d.type === "permacoop:index:DockerRuntime").map((r) => r.name)).toEqual([
      "prod-host-10-0-0-11-runtime",
      "prod-host-2001-db8-7-2222-runtime",
    ]);
  });

  it("starts a host's steps only after the previous wave: a failing host stops the rollout there", async () => {
    const { dependsOnUrns } = await build();
    expect((await dependsOnUrns(`${runtimeOf(2)}-scripts`)).some((urn) => urn.endsWith(`::${runtimeOf(1)}`))).toBe(true);
    expect((await dependsOnUrns(`${runtimeOf(3)}-scripts`)).some((urn) => urn.endsWith(`::${runtimeOf(2)}`))).toBe(true);
    expect((await dependsOnUrns(`${runtimeOf(1)}-scripts`)).some((urn) => /-runtime$/.test(urn))).toBe(false);
    const parallel = await build({ rollout: { parallel: 2 } });
    const third = await parallel.dependsOnUrns(`${runtimeOf(3)}-scripts`);
    expect(third.some((urn) => urn.endsWith(`::${runtimeOf(1)}`))).toBe(true);
    expect(third.some((urn) => urn.endsWith(`::${runtimeOf(2)}`))).toBe(false);
  });

  it("runs the release and the jobs on the first host only, and names each host in its rollout", async () => {
    const { scriptOf } = await build();
    const first = await scriptOf(1, "app-rollout");
    expect(first).toMatch(/^RELEASE_COMMAND='make database-migrate'$/m);
    expect(first).toMatch(/^ENV_NAME='prod on 10\.0\.0\.11'$/m);
    for (const host of [2, 3]) {
      const rollout = await scriptOf(host, "app-rollout");
      expect(rollout).toMatch(/^RELEASE_COMMAND=''$/m);
      expect(rollout).toMatch(new RegExp(`^ENV_NAME='prod on 10\\.0\\.0\\.1${host}'$`, "m"));
    }
    expect(await scriptOf(1, "runtime")).toMatch(/^JOBS='nightly\t/m);
    expect(await scriptOf(2, "runtime")).toMatch(/^JOBS=''$/m);
  });

  it("hands every host the external database, its password a secret", async () => {
    const { env } = await build();
    const appEnv = env.serviceEnv.app!;
    expect(await valueOf(appEnv)).toMatchObject({
      DATABASE_HOST: "10.0.0.5",
      DATABASE_PORT: "5432",
      DATABASE_USERNAME: "permacoop",
      DATABASE_NAME: "permacoop",
      DATABASE_PASSWORD: "db-pass-value",
    });
    expect(await pulumi.isSecret(appEnv)).toBe(true);
  });

  it("asks the other hosts for an ACME challenge it does not hold (each host issues its own certificate)", async () => {
    const { named } = await build();
    const edge = await valueOf(named(`${runtimeOf(2)}-proxy`).props.stdin as pulumi.Input<string>);
    // Both variants: HTTP only until the host's first certificate, then HTTPS.
    for (const variant of edge.split("---\n")) {
      expect(variant).toContain("upstream permacoop_acme_peers {\n    server 10.0.0.11:80 max_fails=0;\n    server 10.0.0.13:80 max_fails=0;\n}");
      expect(variant).toContain("try_files $uri @acme_peers;");
    }
    // Without TLS there is no challenge to share.
    const plain = await build({ tls: { enabled: false } });
    expect(await valueOf(plain.named(`${runtimeOf(2)}-proxy`).props.stdin as pulumi.Input<string>)).not.toContain("acme_peers");
  });

  it("exports each server's SSH coordinates and the load balancer's address", async () => {
    const { env } = await build();
    expect(env.host.outputs.servers?.map((s) => s.host)).toEqual(SERVERS);
    expect(env.host.outputs.host).toEqual({ kind: "ssh", loadBalancerAddress: "203.0.113.10" });
    expect(env.envIds).toHaveLength(3);
  });
});
