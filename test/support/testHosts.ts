/**
 * Test hosts that are other machines (tools/test-hosts.sh): a network namespace with its own
 * address, Docker engine and sshd, reachable only from this machine. Nothing the runner built or
 * pulled is there: an image reaches one only through `load`, the harness's explicit step.
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { PROJECT_DIR } from "./stackFiles";

const SCRIPT = join(PROJECT_DIR, "tools", "test-hosts.sh");

export interface TestHost {
  readonly name: string;
  /** The host's own address (its edge publishes there). */
  readonly address: string;
  /** This machine's address as the host sees it (where a test ACME server listens). */
  readonly runnerAddress: string;
  readonly sshPort: number;
  /** The deploy user (in the group of the host's Docker socket only). */
  readonly user: string;
  /** The host's public SSH host key, to pin. */
  readonly hostKey: string;
  /** The deploy user's private key (OpenSSH format). */
  readonly privateKey: string;
  /** The deploy user's public key (OpenSSH format). */
  readonly publicKey: string;
  /** `unix://…` socket of the host's Docker engine: how the runner inspects it. */
  readonly dockerHost: string;
}

/** Starts (or finds running) test host `name` on 10.231.`index`.0/24. */
export function startTestHost(name: string, index: number): TestHost {
  const facts = Object.fromEntries(
    execFileSync("bash", [SCRIPT, "up", name, String(index)], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] })
      .split("\n")
      .map((line) => /^([A-Z_]+)=(.*)$/.exec(line))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => [m[1]!, m[2]!]),
  );
  return {
    name,
    address: facts.ADDRESS!,
    runnerAddress: facts.RUNNER_ADDRESS!,
    sshPort: Number(facts.SSH_PORT),
    user: facts.USER!,
    hostKey: facts.HOST_KEY!,
    privateKey: readFileSync(facts.CLIENT_KEY!, "utf8"),
    publicKey: readFileSync(`${facts.CLIENT_KEY!}.pub`, "utf8").trim(),
    dockerHost: facts.DOCKER_HOST!,
  };
}

/** The harness's explicit step: copies images from this machine's engine to the host's. */
export function loadImages(host: TestHost, images: readonly string[]): void {
  execFileSync("bash", [SCRIPT, "load", host.name, ...images], { stdio: ["ignore", "ignore", "inherit"] });
}

/** Whether the host's engine has `image`. */
export function hostHasImage(host: TestHost, image: string): boolean {
  return execFileSync("docker", ["-H", host.dockerHost, "image", "ls", "-q", image], { encoding: "utf8" }).trim() !== "";
}

/** Removes the host and everything on it. */
export function stopTestHost(host: TestHost): void {
  execFileSync("bash", [SCRIPT, "down", host.name], { stdio: ["ignore", "ignore", "inherit"] });
}
