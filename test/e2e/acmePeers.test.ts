import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ACME_WEBROOT, renderEdgeConfig } from "../../components/proxy/nginx";
import { selfSignedCertificate } from "../support/validators";
import { prepareImages } from "./lifecycle";

/**
 * Certificates on several `ssh` hosts (issue #17): each host's certbot answers its own HTTP-01
 * challenge from its webroot, and the load balancer may send the ACME server's request to any
 * host. The edge configuration the program renders (acmePeers) makes a host that does not hold a
 * challenge ask its peers, once. Three real nginx edges on one Docker network, each with its own
 * webroot, stand for the three hosts' edges (the third before its first certificate: HTTP only).
 */
const NETWORK = "pc-e2e-acme-peers";
const EDGES = [1, 2, 3].map((i) => `pc-e2e-acme-peer-${i}`);
/** The edges' own addresses, as the hosts' are in `host.hosts` (names would have to resolve when nginx starts). */
const SUBNET = "10.232.77.0/24";
const ADDRESSES = ["10.232.77.11", "10.232.77.12", "10.232.77.13"];
const HOSTNAME = "app.permacoop.test";
const CHALLENGE = "/.well-known/acme-challenge";

describe("ACME challenges across several hosts' edges", () => {
  let dir: string;

  const cleanup = () => {
    spawnSync("docker", ["rm", "-f", ...EDGES]);
    spawnSync("docker", ["network", "rm", NETWORK]);
  };
  /** GET a challenge path on edge `i` (1-based) over HTTP, as the ACME server does through the load balancer. */
  const ask = (i: number, token: string) => {
    const result = spawnSync(
      "docker",
      ["exec", EDGES[i - 1]!, "curl", "-s", "-m", "10", "-H", `Host: ${HOSTNAME}`, "-w", "\n%{http_code}", `http://127.0.0.1${CHALLENGE}/${token}`],
      { encoding: "utf8" },
    );
    const lines = result.stdout.trimEnd().split("\n");
    return { status: Number(lines.pop()), body: lines.join("\n") };
  };
  /** How many requests for `token` edge `i`'s access log shows. */
  const seen = (i: number, token: string) =>
    execFileSync("docker", ["logs", EDGES[i - 1]!], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] })
      .split("\n")
      .filter((line) => line.includes(`${CHALLENGE}/${token} `)).length;

  beforeAll(() => {
    prepareImages();
    cleanup();
    dir = mkdtempSync(join(tmpdir(), "acme-peers-"));
    const cert = selfSignedCertificate(HOSTNAME);
    mkdirSync(join(dir, "live"));
    writeFileSync(join(dir, "live", "fullchain.pem"), cert.fullchain);
    writeFileSync(join(dir, "live", "privkey.pem"), cert.privkey);
    execFileSync("docker", ["network", "create", "--subnet", SUBNET, NETWORK], { stdio: "ignore" });
    EDGES.forEach((name, i) => {
      const conf = renderEdgeConfig({
        hostnames: [HOSTNAME],
        // The third has no certificate yet: it serves the HTTP-only variant, as a host does until its first one.
        tls: i < 2,
        switchHost: "127.0.0.1",
        routes: [{ service: "app", prefix: "/", switchPort: 8001 }],
        clientMaxBodySize: "10m",
        certDir: "/certs",
        acmePeers: ADDRESSES.filter((_, j) => j !== i).map((address) => `${address}:80`),
      });
      mkdirSync(join(dir, name, "conf.d"), { recursive: true });
      mkdirSync(join(dir, name, "webroot", CHALLENGE), { recursive: true });
      writeFileSync(join(dir, name, "conf.d", "default.conf"), conf);
      // Each edge's own challenge, as its certbot writes it.
      writeFileSync(join(dir, name, "webroot", CHALLENGE, `token-of-${i + 1}`), `answer-of-${i + 1}`);
      execFileSync("docker", [
        "run", "-d", "--name", name, "--network", NETWORK, "--ip", ADDRESSES[i]!,
        "-v", `${join(dir, name, "conf.d")}:/etc/nginx/conf.d:ro`,
        "-v", `${join(dir, name, "webroot")}:${ACME_WEBROOT}:ro`,
        "-v", `${join(dir, "live")}:/certs:ro`,
        "nginx:stable",
      ], { stdio: "ignore" }); // prettier-ignore
    });
    // Each edge answers its own challenge before the tests ask across.
    for (const i of [1, 2, 3])
      execFileSync("bash", [
        "-c",
        `for _ in $(seq 100); do docker exec ${EDGES[i - 1]} curl -sf -o /dev/null -H 'Host: ${HOSTNAME}' http://127.0.0.1${CHALLENGE}/token-of-${i} && exit 0; sleep 0.1; done; exit 1`,
      ]);
  });

  afterAll(() => {
    cleanup();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("answers its own challenge from its webroot, without asking the peers", () => {
    expect(ask(1, "token-of-1")).toEqual({ status: 200, body: "answer-of-1" });
    expect([seen(2, "token-of-1"), seen(3, "token-of-1")]).toEqual([0, 0]);
  });

  it("answers a peer's challenge, whichever edge the request reaches", () => {
    expect(ask(1, "token-of-2")).toEqual({ status: 200, body: "answer-of-2" });
    expect(ask(1, "token-of-3")).toEqual({ status: 200, body: "answer-of-3" });
    expect(ask(3, "token-of-1")).toEqual({ status: 200, body: "answer-of-1" });
    expect(ask(2, "token-of-3")).toEqual({ status: 200, body: "answer-of-3" });
  });

  it("a challenge no edge holds is a 404 after asking each peer once: no request goes round", () => {
    expect(ask(2, "nobody-holds-this").status).toBe(404);
    expect([1, 2, 3].map((i) => seen(i, "nobody-holds-this"))).toEqual([1, 1, 1]);
  });

  it("a peer that is down is skipped: the others still answer, and its own challenge is a quick 404", () => {
    execFileSync("docker", ["stop", "-t", "1", EDGES[2]!], { stdio: "ignore" });
    expect(ask(1, "token-of-2")).toEqual({ status: 200, body: "answer-of-2" });
    const started = Date.now();
    expect(ask(1, "token-of-3").status).toBe(404);
    expect(Date.now() - started).toBeLessThan(8000);
  });
});
