import { ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A running Pebble (Let's Encrypt's test ACME server) with its challenge DNS. */
export interface Pebble {
  /** ACME directory URL. */
  readonly directory: string;
  /** PEM of the CA that signed Pebble's own HTTPS certificate (for certbot's REQUESTS_CA_BUNDLE). */
  readonly caBundle: string;
  /** Management API of the challenge DNS (e.g. POST /add-a). */
  readonly dnsManagement: string;
  stop(): Promise<void>;
}

function waitForPort(port: number, seconds: number, address = "127.0.0.1"): void {
  execFileSync("bash", ["-c", `for _ in $(seq 1 ${seconds * 10}); do (exec 3<>/dev/tcp/${address}/${port}) 2>/dev/null && exit 0; sleep 0.1; done; exit 1`]);
}

/**
 * Starts pebble-challtestsrv (DNS on `dnsPort`, every name → `namesResolveTo`) and pebble (ACME on
 * `listenAddress`:`acmePort`, where the host's certbot reaches it) validating HTTP-01 challenges on
 * `httpPort` — the edge's port. Both default to loopback (a host on this machine). Debian's pebble
 * ships no certificates: a throwaway CA and server certificate are made with openssl.
 */
export function startPebble(options: { httpPort: number; acmePort?: number; dnsPort?: number; listenAddress?: string; namesResolveTo?: string }): Pebble {
  const acmePort = options.acmePort ?? 14000;
  const dnsPort = options.dnsPort ?? 8053;
  const listen = options.listenAddress ?? "127.0.0.1";
  const target = options.namesResolveTo ?? "127.0.0.1";
  const dir = mkdtempSync(join(tmpdir(), "pebble-"));
  const openssl = (args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: "ignore" });
  openssl(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=permacoop test ACME CA", "-keyout", "ca.key", "-out", "ca.pem"]);
  openssl(["req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost", "-keyout", "server.key", "-out", "server.csr"]);
  writeFileSync(join(dir, "san.ext"), `subjectAltName=DNS:localhost,IP:127.0.0.1,IP:${listen}\n`);
  openssl([
    "x509",
    "-req",
    "-in",
    "server.csr",
    "-CA",
    "ca.pem",
    "-CAkey",
    "ca.key",
    "-CAcreateserial",
    "-days",
    "2",
    "-extfile",
    "san.ext",
    "-out",
    "server.pem",
  ]);
  writeFileSync(
    join(dir, "pebble.json"),
    JSON.stringify({
      pebble: {
        listenAddress: `${listen}:${acmePort}`,
        managementListenAddress: `127.0.0.1:${acmePort + 1000}`,
        certificate: join(dir, "server.pem"),
        privateKey: join(dir, "server.key"),
        httpPort: options.httpPort,
        tlsPort: 5001,
        ocspResponderURL: "",
        externalAccountBindingRequired: false,
      },
    }),
  );
  const children: ChildProcess[] = [];
  children.push(
    spawn(
      "pebble-challtestsrv",
      [
        "-defaultIPv4",
        target,
        "-defaultIPv6",
        "",
        "-dns01",
        `127.0.0.1:${dnsPort}`,
        "-http01",
        "",
        "-https01",
        "",
        "-tlsalpn01",
        "",
        "-management",
        `127.0.0.1:${dnsPort + 1000}`,
      ],
      { stdio: "ignore" },
    ),
  );
  waitForPort(dnsPort + 1000, 10);
  children.push(
    spawn("pebble", ["-config", join(dir, "pebble.json"), "-dnsserver", `127.0.0.1:${dnsPort}`], {
      stdio: "ignore",
      env: { ...process.env, PEBBLE_VA_NOSLEEP: "1", PEBBLE_WFE_NONCEREJECT: "0", PEBBLE_AUTHZREUSE: "0" },
    }),
  );
  waitForPort(acmePort, 15, listen);
  return {
    directory: `https://${listen}:${acmePort}/dir`,
    caBundle: readFileSync(join(dir, "ca.pem"), "utf8"),
    dnsManagement: `http://127.0.0.1:${dnsPort + 1000}`,
    async stop() {
      for (const child of children) child.kill("SIGTERM");
      await Promise.all(children.map((child) => new Promise((resolve) => (child.exitCode !== null ? resolve(undefined) : child.on("exit", resolve)))));
    },
  };
}
