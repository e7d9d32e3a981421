import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LocalWorkspace, Stack } from "@pulumi/pulumi/automation";
import { stringify } from "yaml";
import { HOST_ROOT, HostContract, hostContract, LABELS } from "../../components/runtime/contract";
import { toolchainEnv } from "../../tools/toolchainEnv";
import { PROJECT_DIR, stackConfig } from "../support/stackFiles";

/**
 * Runs a user command (`cli/<name>.ts`, what `npm run <name>` runs) against a test stack, from its
 * project directory and with its Pulumi CLI environment: its exit status and output (stdout, then stderr).
 */
export function runCli(
  test: { readonly workDir: string; readonly pulumiCliEnv: Record<string, string> },
  name: string,
  ...args: string[]
): { status: number; output: string } {
  const result = spawnSync("npx", ["ts-node", "--transpile-only", join(PROJECT_DIR, "cli", `${name}.ts`), ...args], {
    cwd: test.workDir,
    env: { ...process.env, ...test.pulumiCliEnv },
    encoding: "utf8",
  });
  return { status: result.status ?? 1, output: `${result.stdout}${result.stderr}` };
}

/** Passphrase of the throwaway stacks the e2e suite creates (never a real stack's). */
export const TEST_PASSPHRASE = "permacoop-e2e-throwaway";

/**
 * The Pulumi CLI's environment for a test stack (what cli/pulumi.ts's `pulumiCliEnv` gives a real
 * one): the offline toolchain, a file backend in `backendDir`, the test passphrase. The toolchain's
 * part is also exported into this process: the Automation API finds `pulumi` on its PATH.
 */
export function testPulumiCliEnv(backendDir: string): Record<string, string> {
  const toolchain = toolchainEnv();
  Object.assign(process.env, toolchain);
  return { ...toolchain, PULUMI_BACKEND_URL: `file://${backendDir}`, PULUMI_CONFIG_PASSPHRASE: TEST_PASSPHRASE };
}

/** Files of the project a throwaway workspace links to (stack files are written fresh). */
const PROJECT_ENTRIES = ["Pulumi.yaml", "package.json", "tsconfig.json", "index.ts", "components", "node_modules", "app"];

export interface ConfigEntry {
  readonly value: unknown;
  readonly secret?: boolean;
}

/**
 * The config of an HTTP-only test environment: `host`, a PostgreSQL container, no DNS records
 * (`localhost`), no TLS, and `services`.
 */
export function httpStackConfig(host: unknown, services: readonly Record<string, unknown>[]): Record<string, ConfigEntry> {
  return {
    "permacoop:host": { value: host },
    "permacoop:database": { value: { kind: "container" } },
    "permacoop:dns": { value: { provider: "none", hostnames: ["localhost"] } },
    "permacoop:tls": { value: { enabled: false } },
    "permacoop:services": { value: services },
  };
}

type Mutable = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** A stack file's configuration with its secrets replaced by dummy secrets, `change` applied to its structured values. */
export function configOf(stack: string, change: (config: Mutable) => void = () => undefined): Record<string, ConfigEntry> {
  const { structured, secretKeys } = stackConfig(stack);
  const values = structuredClone(structured) as Mutable;
  change(values);
  return Object.fromEntries(
    Object.entries(values).map(([key, value]) => [key, secretKeys.includes(key) ? { value: `dummy-${key}`, secret: true } : { value }]),
  );
}

/** The program's own files; the dependencies and the app always come from this checkout. */
const PROGRAM_ENTRIES = ["Pulumi.yaml", "package.json", "tsconfig.json", "index.ts", "components"];

/**
 * Links `workDir` to the program in `programDir` (this checkout by default, or another version
 * of it: an upgrade test runs the previous release first, then this one on the same stack).
 */
export function linkProgram(workDir: string, programDir: string = PROJECT_DIR): void {
  for (const entry of PROJECT_ENTRIES) {
    rmSync(join(workDir, entry), { force: true });
    symlinkSync(join(PROGRAM_ENTRIES.includes(entry) ? programDir : PROJECT_DIR, entry), join(workDir, entry));
  }
}

/** A throwaway stack: its own file backend and work dir, linked to this project's program. */
export interface TestStack {
  readonly stack: Stack;
  readonly dir: string;
  /** The project directory the stack runs in. */
  readonly workDir: string;
  /** The Pulumi CLI's environment for the stack (toolchain, backend, passphrase): see testPulumiCliEnv. */
  readonly pulumiCliEnv: Record<string, string>;
  /** Destroys whatever the stack holds (best effort) and removes its directories. */
  dispose(): Promise<void>;
}

/**
 * Creates a stack named `name` in a fresh file backend, with `config` set through the CLI
 * (secrets encrypted with the test passphrase), and `extraEnv` for the program.
 */
export async function createTestStack(
  name: string,
  config: Record<string, ConfigEntry>,
  extraEnv: Record<string, string> = {},
  programDir: string = PROJECT_DIR,
): Promise<TestStack> {
  const dir = mkdtempSync(join(tmpdir(), `permacoop-e2e-${name}-`));
  const workDir = join(dir, "project");
  const backendDir = join(dir, "backend");
  mkdirSync(workDir);
  mkdirSync(backendDir);
  linkProgram(workDir, programDir);
  writeFileSync(join(workDir, `Pulumi.${name}.yaml`), stringify({ config: {} }));

  const envVars: Record<string, string> = { ...testPulumiCliEnv(backendDir), ...extraEnv };
  const stack = await LocalWorkspace.createStack({ stackName: name, workDir }, { envVars, pulumiHome: envVars.PULUMI_HOME });
  const plain = Object.fromEntries(
    Object.entries(config).map(([key, entry]) => [
      key,
      { value: typeof entry.value === "string" ? entry.value : JSON.stringify(entry.value), secret: entry.secret ?? false },
    ]),
  );
  // Objects go in through --path-less JSON: the program parses each key as JSON.
  await stack.setAllConfig(plain);
  return {
    stack,
    dir,
    workDir,
    pulumiCliEnv: envVars,
    async dispose() {
      try {
        await stack.destroy({ color: "never" });
        await stack.workspace.removeStack(name);
      } catch {
        // The scenario may have left nothing to destroy.
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Counts planned custom resources by type from a preview's engine events. */
export function plannedTypes(events: readonly { resourcePreEvent?: { metadata: { type: string; op: string } } }[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const event of events) {
    const meta = event.resourcePreEvent?.metadata;
    if (!meta || meta.type.startsWith("pulumi:") || meta.type.startsWith("permacoop:")) continue;
    counts[meta.type] = (counts[meta.type] ?? 0) + 1;
  }
  return Object.fromEntries(Object.entries(counts).sort(([a], [b]) => a.localeCompare(b)));
}

/** Dummy Scaleway credentials: a preview must never need the API. */
export const DUMMY_SCALEWAY_ENV = {
  SCW_ACCESS_KEY: "SCWXXXXXXXXXXXXXXXXX",
  SCW_SECRET_KEY: "11111111-1111-1111-1111-111111111111",
  SCW_DEFAULT_PROJECT_ID: "22222222-2222-2222-2222-222222222222",
  SCW_DEFAULT_ORGANIZATION_ID: "22222222-2222-2222-2222-222222222222",
};

/** A free TCP port on loopback. */
export async function freePort(): Promise<number> {
  const net = await import("node:net");
  // Below the kernel's ephemeral range: a port from it (what listen(0) gives) can be taken again
  // at any moment as the source port of an outgoing connection (a push to a loopback registry),
  // and the edge's later bind fails. Never the same port twice in one run.
  const [ephemeralStart] = readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/).map(Number);
  const low = 20000;
  const high = Math.min(ephemeralStart ?? 32768, 65536) - 1;
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = low + Math.floor(Math.random() * (high - low + 1));
    if (handedOut.has(port)) continue;
    const free = await new Promise<boolean>((resolve) => {
      const server = net.createServer();
      server.once("error", () => resolve(false));
      server.listen(port, "0.0.0.0", () => server.close(() => resolve(true)));
    });
    if (free) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error(`no free port between ${low} and ${high}`);
}
const handedOut = new Set<number>();

/** Names of Docker containers, networks or volumes carrying `label` (on this machine's engine, or the one at `dockerHost`). */
export function dockerObjects(kind: "ps -a" | "network ls" | "volume ls", label: string, dockerHost?: string): string[] {
  const format = kind === "ps -a" ? "{{.Names}}" : "{{.Name}}";
  const env = dockerHost ? { ...process.env, DOCKER_HOST: dockerHost } : process.env;
  const out = execFileSync("bash", ["-c", `docker ${kind} --filter label=${label} --format '${format}'`], { encoding: "utf8", env });
  return out.split("\n").filter(Boolean).sort();
}

/**
 * GET a URL on a fresh connection (a pooled keep-alive socket could outlive the server between
 * scenarios); resolves with status, headers and body, never throws on HTTP errors.
 */
export async function httpGet(url: string): Promise<{ status: number; body: string; headers: Record<string, string | string[] | undefined> }> {
  const http = await import("node:http");
  return new Promise((resolve, reject) => {
    const request = http.get(url, { agent: false, timeout: 10_000 }, (response) => {
      let body = "";
      response.setEncoding("utf8");
      response.on("data", (chunk: string) => (body += chunk));
      response.on("end", () => resolve({ status: response.statusCode ?? 0, body, headers: response.headers }));
    });
    request.on("timeout", () => request.destroy(new Error(`GET ${url}: no answer within 10 s`)));
    request.on("error", reject);
  });
}

/** The environment's database password, read from its PostgreSQL container on the host's engine. */
export function databasePassword(dbContainer: string, dockerHost?: string): string {
  const env = execFileSync("docker", ["inspect", "--format", "{{range .Config.Env}}{{println .}}{{end}}", dbContainer], {
    encoding: "utf8",
    env: dockerHost ? { ...process.env, DOCKER_HOST: dockerHost } : process.env,
  });
  const password = env
    .split("\n")
    .find((line) => line.startsWith("POSTGRES_PASSWORD="))
    ?.slice("POSTGRES_PASSWORD=".length);
  if (!password) throw new Error(`${dbContainer} has no POSTGRES_PASSWORD`);
  return password;
}

/**
 * Which of these secret values the stack's state holds in plaintext: `pulumi stack export` as the
 * state is stored (not the automation API's exportStack, which decrypts), where every secret must
 * be ciphertext. A multi-line value (a private key) is looked for line by line, as JSON escapes it.
 */
export function plaintextSecretsInState(test: TestStack, secrets: Record<string, string>): string[] {
  const state = execFileSync("pulumi", ["stack", "export", "--stack", test.stack.name], {
    cwd: test.workDir,
    env: { ...process.env, ...test.pulumiCliEnv },
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
  });
  const pieces = (value: string) =>
    value
      .split("\n")
      .map((line) => line.trim())
      .filter((line) => line.length >= 12 && !line.startsWith("-----"));
  return Object.entries(secrets)
    .filter(([, value]) => pieces(value).some((piece) => state.includes(JSON.stringify(piece).slice(1, -1))))
    .map(([name]) => name);
}

/** Runs SQL as the app's user in an environment's database container (on `dockerHost`, else this engine); its output, trimmed. */
export function containerPsql(dbContainer: string, dockerHost?: string): (sql: string) => string {
  return (sql) =>
    execFileSync(
      "docker",
      [
        ...(dockerHost ? ["-H", dockerHost] : []),
        "exec",
        dbContainer,
        "psql",
        "-qtA",
        "-v",
        "ON_ERROR_STOP=1",
        "-U",
        "permacoop",
        "-d",
        "permacoop",
        "-c",
        sql,
      ],
      {
        encoding: "utf8",
      },
    ).trim();
}

/** The row count and a checksum of `table`'s `payload` column (ordered by `id`): equal means the same rows. */
export function tableChecksum(psql: (sql: string) => string, table: string): string {
  return psql(`SELECT count(*) || ' ' || md5(string_agg(payload, ',' ORDER BY id)) FROM ${table}`);
}

/** The names of the stack's environment on its host: from the id its last `up` exported. */
export async function deployedContract(test: TestStack, environment: string): Promise<HostContract> {
  const id = (await test.stack.outputs()).envId?.value;
  if (typeof id !== "string" || id === "") throw new Error(`stack ${environment} exports no envId: deploy it first`);
  return hostContract(environment, id);
}

/**
 * Removes from a host every environment of stack `environment`, whatever its id (the stack's name
 * alone, or with an id): the leftovers of an interrupted earlier run, or what a rebuilt server has
 * of it. Containers, networks and volumes by label, directories, crontab lines.
 */
export function wipeEnvironments(environment: string, options: { readonly dockerHost?: string; readonly user?: string } = {}): void {
  const crontab = options.user ? `crontab -u ${options.user}` : "crontab";
  const home = `~${options.user ?? ""}`;
  const ids = `^${environment}(-[0-9a-f]{8})?$`;
  execFileSync(
    "bash",
    [
      "-c",
      `for id in $( { docker ps -a --format '{{.Label "${LABELS.env}"}}'; docker network ls --format '{{.Label "${LABELS.env}"}}'; docker volume ls --format '{{.Label "${LABELS.env}"}}'; } | sort -u | grep -E '${ids}'); do
        docker rm -f $(docker ps -aq --filter label=${LABELS.env}=$id) >/dev/null 2>&1
        docker network rm $(docker network ls -q --filter label=${LABELS.env}=$id) >/dev/null 2>&1
        docker volume rm $(docker volume ls -q --filter label=${LABELS.env}=$id) >/dev/null 2>&1
      done
      for dir in ${home}/${HOST_ROOT}/*; do [[ "\${dir##*/}" =~ ${ids} ]] && rm -rf "$dir"; done
      (${crontab} -l 2>/dev/null | grep -vE '# permacoop:${environment}(-[0-9a-f]{8})?:' | ${crontab} -) 2>/dev/null
      true`,
    ],
    { env: options.dockerHost ? { ...process.env, DOCKER_HOST: options.dockerHost } : process.env },
  );
}

/**
 * `list()` once the last rollout's background part (drain, stop: components/runtime/host/rollout.sh)
 * has left at most `count` entries, or after 45 s: `pulumi up` returns once the new version serves.
 */
export async function settled(list: () => string[], count = 1): Promise<string[]> {
  const deadline = Date.now() + 45_000;
  let current = list();
  while (current.length > count && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    current = list();
  }
  return current;
}
