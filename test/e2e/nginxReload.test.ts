import { execFileSync, spawnSync } from "node:child_process";
import { join } from "node:path";
import { SWITCH_PORTS } from "../../components/runtime/switchPort";
import { PROJECT_DIR } from "../support/stackFiles";
import { prepareImages } from "./lifecycle";

/**
 * The proxies' confirmed reload (components/runtime/host/nginx.sh, nginx_reload_sh) in a real nginx
 * container: nginx keeps its old configuration when a new listen port is held by one of the
 * container's own outgoing connections, and says so only in its log. What a switch created before
 * reserved ports meets when a service is added (or its port moves) under load.
 */
const CONTAINER = "pc-e2e-nginx-reload";
const CONF = "/etc/nginx/conf.d/site.conf";

/** The in-container helper, as the host scripts define it. */
const helper = execFileSync("bash", ["-c", `source '${join(PROJECT_DIR, "components/runtime/host/nginx.sh")}'; printf '%s' "$nginx_reload_sh"`], {
  encoding: "utf8",
});

/** Runs a POSIX sh script in the container, after the helper; its exit status and output. */
const inContainer = (script: string) => {
  const result = spawnSync("docker", ["exec", CONTAINER, "sh", "-c", `${helper}\n${script}`], { encoding: "utf8" });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
};
const answers = (port: number) => inContainer(`curl -s -m 2 http://127.0.0.1:${port}/`).output;
/** Writes a server block listening on `ports` to `file` (the live file, or `.next` for install_confirmed). */
const listenOn = (ports: number[], file = CONF) =>
  inContainer(`printf 'server {\\n${ports.map((p) => `    listen ${p};\\n`).join("")}    location / { return 200 "ok $server_port"; }\\n}\\n' > ${file}`);

describe("a proxy's reload is confirmed before traffic moves to it", () => {
  beforeAll(() => {
    prepareImages();
    spawnSync("docker", ["rm", "-f", CONTAINER]);
    execFileSync("docker", [
      "run", "-d", "--name", CONTAINER,
      "--sysctl", "net.ipv4.ip_local_port_range=1024 65000", // the proxies' range (proxy.sh)
      "--entrypoint", "", "nginx:stable",
      "sh", "-c", `rm -f /etc/nginx/conf.d/default.conf; printf 'server { listen 8001; location / { return 200 "ok $server_port"; } }' > ${CONF}; exec nginx -g "daemon off;"`,
    ]); // prettier-ignore
    execFileSync("bash", [
      "-c",
      `for i in $(seq 50); do docker exec ${CONTAINER} curl -sf http://127.0.0.1:8001/ >/dev/null && exit 0; sleep 0.1; done; exit 1`,
    ]);
  });

  afterAll(() => {
    spawnSync("docker", ["rm", "-f", CONTAINER]);
  });

  it("a reload that took: new workers, every listen port bound", () => {
    listenOn([8001, 8002]);
    expect(inContainer(`reload_confirmed ${CONF} 10`)).toEqual({ status: 0, output: "" });
    expect(answers(8002)).toBe("ok 8002");
  });

  it("a new port held by an outgoing connection in TIME_WAIT: the reload never took, and the old configuration still serves", () => {
    const held = 15836;
    // curl closes first: its side of the connection, local port `held`, stays in TIME_WAIT for 60 s.
    expect(answers(8001)).toBe("ok 8001");
    inContainer(`curl -s --local-port ${held} http://127.0.0.1:8001/ >/dev/null`);
    listenOn([8001, 8002, held]);
    const started = Date.now();
    expect(inContainer(`reload_confirmed ${CONF} 3`).status).toBe(1);
    expect(Date.now() - started).toBeGreaterThanOrEqual(2000); // it retried, up to its deadline
    expect(answers(held)).toBe("");
    expect(answers(8001)).toBe("ok 8001");
    const log = spawnSync("docker", ["logs", CONTAINER], { encoding: "utf8" });
    expect(`${log.stdout}${log.stderr}`).toContain(`bind() to 0.0.0.0:${held} failed (98: Address already in use)`);
  });

  it("a file nginx -t refuses is put back before any reload; a valid one is installed and serves", () => {
    const before = inContainer(`cat ${CONF}`).output;
    expect(inContainer(`printf 'server { listen 8003; bogus_directive on; }\\n' > ${CONF}.next; install_confirmed ${CONF} 10`).status).toBe(1);
    expect(inContainer(`cat ${CONF}`).output).toBe(before);
    expect(answers(8001)).toBe("ok 8001");
    listenOn([8001, 8004], `${CONF}.next`);
    expect(inContainer(`install_confirmed ${CONF} 10`)).toEqual({ status: 0, output: "" });
    expect(answers(8004)).toBe("ok 8004");
  });

  it("a switch's outgoing connections never take its listen ports (reserved, as the runtime starts it)", () => {
    const range = `${SWITCH_PORTS.first}-${SWITCH_PORTS.first + SWITCH_PORTS.count - 1}`;
    const ports = execFileSync(
      "docker",
      [
        "run", "--rm", "--sysctl", "net.ipv4.ip_local_port_range=1024 65000", "--sysctl", `net.ipv4.ip_local_reserved_ports=${range}`,
        "--entrypoint", "", "nginx:stable",
        "sh", "-c", `nginx; sleep 0.5; for i in $(seq 200); do curl -s -o /dev/null -w '%{local_port}\\n' http://127.0.0.1:80/; done`,
      ], // prettier-ignore
      { encoding: "utf8" },
    )
      .split("\n")
      .filter(Boolean)
      .map(Number);
    expect(ports.filter((port) => port > 0)).toHaveLength(200); // 200 connections made
    expect(ports.filter((port) => port >= SWITCH_PORTS.first && port < SWITCH_PORTS.first + SWITCH_PORTS.count)).toEqual([]);
  });
});
