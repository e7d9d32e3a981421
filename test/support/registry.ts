import { ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** A login the registry asks for (htpasswd, bcrypt). */
export interface RegistryLogin {
  readonly user: string;
  readonly password: string;
}

/** Debian's docker-registry, serving one storage directory on each of its addresses. */
export interface TestRegistry {
  /** `host:port` of each listener, in the order asked. */
  readonly addresses: readonly string[];
  /** What the registry processes logged (for a failure message). */
  log(): string;
  /** Stops every listener; resolves once they have exited. */
  stop(): Promise<void>;
}

/** A bcrypt htpasswd line (the registry accepts bcrypt only), from the system's crypt(3). */
function htpasswdLine({ user, password }: RegistryLogin): string {
  const script = "import crypt,sys; print(sys.argv[1] + ':' + crypt.crypt(sys.argv[2], crypt.mksalt(crypt.METHOD_BLOWFISH)))";
  return execFileSync("python3", ["-W", "ignore", "-c", script, user, password], { encoding: "utf8" }).trim();
}

/**
 * Starts docker-registry (apt-get install docker-registry) on each of `addresses` (`host:port`:
 * loopback, or this machine's side of a test host's link), all on one storage under `dir`, with
 * `login` when given; resolves once each answers. Several listeners on one storage: a push
 * through one is pulled through the others.
 */
export async function startRegistry(dir: string, addresses: readonly string[], login?: RegistryLogin): Promise<TestRegistry> {
  execFileSync("bash", ["-c", "command -v docker-registry"], { stdio: "ignore" });
  mkdirSync(join(dir, "data"), { recursive: true });
  if (login) writeFileSync(join(dir, "htpasswd"), `${htpasswdLine(login)}\n`);
  let logged = "";
  const processes: ChildProcess[] = [];
  const registry: TestRegistry = {
    addresses,
    log: () => logged,
    stop: async () => {
      await Promise.all(
        processes.map((p) =>
          p.exitCode !== null || p.signalCode !== null
            ? undefined
            : new Promise<void>((resolve) => {
                p.once("exit", () => resolve());
                p.kill("SIGTERM");
              }),
        ),
      );
    },
  };
  for (const address of addresses) {
    const config = join(dir, `registry-${address.replace(/[^0-9a-z]+/g, "-")}.yml`);
    writeFileSync(
      config,
      [
        "version: 0.1",
        "log: { level: warn }",
        `storage: { filesystem: { rootdirectory: ${join(dir, "data")} } }`,
        `http: { addr: "${address}" }`,
        ...(login ? [`auth: { htpasswd: { realm: permacoop-e2e, path: ${join(dir, "htpasswd")} } }`] : []),
        "",
      ].join("\n"),
    );
    const child = spawn("docker-registry", ["serve", config], { stdio: ["ignore", "pipe", "pipe"] });
    child.stdout?.on("data", (chunk: Buffer) => (logged += chunk.toString()));
    child.stderr?.on("data", (chunk: Buffer) => (logged += chunk.toString()));
    processes.push(child);
    // Up: it answers /v2/ (200 without a login, 401 asking for one).
    for (;;) {
      if (child.exitCode !== null) {
        await registry.stop();
        throw new Error(`docker-registry on ${address} exited (${child.exitCode}):\n${logged}`);
      }
      const status = await fetch(`http://${address}/v2/`).then(
        (response) => response.status,
        () => 0,
      );
      if (status === (login ? 401 : 200)) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  return registry;
}
