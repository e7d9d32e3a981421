import { ChildProcess, execFileSync, spawn } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** An OpenSSH server on loopback playing "an existing server", with a deploy user. */
export interface TestServer {
  readonly port: number;
  readonly user: string;
  /** The server's public host key (to pin). */
  readonly hostKey: string;
  /** The deploy user's private key (OpenSSH format). */
  readonly privateKey: string;
  stop(): Promise<void>;
}

function run(command: string, args: string[]): string {
  return execFileSync(command, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

/**
 * Starts sshd on 127.0.0.1:`port` with its own host key, for `user` (created if missing, in the
 * docker group) authorised with a fresh key. Needs root and Debian's openssh-server.
 */
export function startSshd(options: { port: number; user?: string }): TestServer {
  const user = options.user ?? "permacoop-deploy";
  const dir = mkdtempSync(join(tmpdir(), "sshd-"));
  chmodSync(dir, 0o755);
  try {
    run("id", [user]);
  } catch {
    run("useradd", ["--create-home", "--shell", "/bin/bash", "--groups", "docker", user]);
  }
  // A new account is locked ("!"): sshd without PAM refuses it even with a key. "*" = no password, not locked.
  run("usermod", ["--password", "*", user]);
  run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "test-server", "-f", join(dir, "host_key")]);
  run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", `${user}@test`, "-f", join(dir, "client_key")]);
  writeFileSync(join(dir, "authorized_keys"), readFileSync(join(dir, "client_key.pub")));
  chmodSync(join(dir, "authorized_keys"), 0o644);
  mkdirSync("/run/sshd", { recursive: true });
  writeFileSync(
    join(dir, "sshd_config"),
    [
      `Port ${options.port}`,
      "ListenAddress 127.0.0.1",
      `HostKey ${join(dir, "host_key")}`,
      `PidFile ${join(dir, "sshd.pid")}`,
      `AuthorizedKeysFile ${join(dir, "authorized_keys")}`,
      `AllowUsers ${user}`,
      "StrictModes no",
      "PasswordAuthentication no",
      "KbdInteractiveAuthentication no",
      "PermitRootLogin no",
      "UsePAM no",
      "Subsystem sftp internal-sftp",
      "",
    ].join("\n"),
  );
  const child: ChildProcess = spawn("/usr/sbin/sshd", ["-D", "-e", "-f", join(dir, "sshd_config")], { stdio: "ignore" });
  execFileSync("bash", ["-c", `for _ in $(seq 1 50); do (exec 3<>/dev/tcp/127.0.0.1/${options.port}) 2>/dev/null && exit 0; sleep 0.1; done; exit 1`]);
  return {
    port: options.port,
    user,
    hostKey: readFileSync(join(dir, "host_key.pub"), "utf8").trim(),
    privateKey: readFileSync(join(dir, "client_key"), "utf8"),
    async stop() {
      child.kill("SIGTERM");
      await new Promise((resolve) => (child.exitCode !== null ? resolve(undefined) : child.on("exit", resolve)));
    },
  };
}
