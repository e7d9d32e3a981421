import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PROJECT_DIR } from "../support/stackFiles";
import { freePort, httpGet } from "./harness";
import { APP_IMAGE, environmentLifecycle, prepareImages } from "./lifecycle";
import { Pebble, startPebble } from "../support/pebble";
import { hostHasImage, loadImages, startTestHost, stopTestHost, TestHost } from "../support/testHosts";

// "An existing server": a test host, another machine with its own address, Docker engine and sshd.
let server: TestHost;
let pebble: Pebble | undefined;
const IMAGES = ["nginx:stable", "haproxy:lts", "postgres:16", "certbot/certbot:latest", `${APP_IMAGE}:v2`];

beforeAll(() => {
  prepareImages(["certbot/certbot:latest=tools/images/certbot"]);
  server = startTestHost("ssh", 1);
  // Nothing built or pulled here is there until the harness's explicit step copies it.
  expect(IMAGES.filter((image) => hostHasImage(server, image))).toEqual([]);
  loadImages(server, IMAGES);
  expect(IMAGES.filter((image) => !hostHasImage(server, image))).toEqual([]);
});

afterAll(async () => {
  await pebble?.stop();
  if (server) stopTestHost(server);
});

const HOSTNAMES = ["app.permacoop.test", "www.permacoop.test"];

describe("existing server over SSH", () => {
  environmentLifecycle({
    env: "e2essh",
    hostUser: () => server.user,
    address: () => server.address,
    dockerHost: () => server.dockerHost,
    initialImage: `${APP_IMAGE}:v2`,
    host: (httpPort) => ({
      kind: "ssh",
      address: server.address,
      port: server.sshPort,
      user: server.user,
      hostKey: server.hostKey,
      httpPort,
      bindAddress: "0.0.0.0",
    }),
    get extraConfig() {
      return { "permacoop:sshPrivateKey": { value: server.privateKey, secret: true } };
    },
    more: ({ test, httpPort }) => {
      it("npm run ops: status, logs and the audit log of the host, over SSH", () => {
        const ops = (...args: string[]) =>
          execFileSync("npx", ["ts-node", "--transpile-only", join(PROJECT_DIR, "cli", "ops.ts"), ...args, "-s", "e2essh"], {
            cwd: test().workDir,
            env: { ...process.env, ...test().pulumiCliEnv },
            encoding: "utf8",
          });
        const status = ops("status");
        expect(status).toMatch(/pc-e2essh-[0-9a-f]{8}-app-\S+ +Up/);
        expect(status).toMatch(/service app: live pc-e2essh-[0-9a-f]{8}-app-\S+; \/healthz → 200/);
        expect(ops("logs")).toContain("listening on 3000");
        const audit = ops("audit");
        expect(audit).toContain(`service=app\tactor=${server.user} from ${server.runnerAddress}\tfrom=`);
        expect(audit).toMatch(/\tto=\S+\toutcome=succeeded/);
        expect(audit).toMatch(/outcome=failed/); // the unhealthy rollout
      });

      it("refuses a server whose host key is not the pinned one", async () => {
        const stack = test().stack;
        const host = JSON.parse((await stack.getConfig("permacoop:host")).value);
        await stack.setConfig("permacoop:host", {
          value: JSON.stringify({ ...host, hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHc2p5Zb0Q9y8m7x3kVt4Jb9qW1eR6tY2uI8oP0aS4dF impostor" }),
        });
        await stack.setConfig("permacoop:services", {
          value: JSON.stringify([
            {
              name: "app",
              port: 3000,
              healthPath: "/healthz",
              pullPolicy: "never",
              image: "permacoop/reference-app-e2e:v2",
              env: { APP_VERSION: "v5" },
              secretEnv: { APP_TOKEN: "appToken" },
            },
          ]),
        });
        await expect(stack.up({ color: "never" })).rejects.toThrow(/host key|knownhosts|key mismatch|handshake/i);
        await stack.setConfig("permacoop:host", { value: JSON.stringify(host) });
      });

      it("a failed issuance fails clearly within the deadline and leaves HTTP serving", async () => {
        const stack = test().stack;
        pebble = startPebble({ httpPort: httpPort(), listenAddress: server.runnerAddress, namesResolveTo: server.address });
        // Pebble's DNS answers the host's address for every name: make this one point where no edge listens.
        execFileSync("curl", [
          "-sf",
          "-X",
          "POST",
          "-d",
          JSON.stringify({ host: "elsewhere.permacoop.test", addresses: ["127.0.0.2"] }),
          `${pebble.dnsManagement}/add-a`,
        ]);
        const httpsPort = await freePort();
        const host = JSON.parse((await stack.getConfig("permacoop:host")).value);
        await stack.setConfig("permacoop:host", { value: JSON.stringify({ ...host, httpsPort }) });
        await stack.setConfig("permacoop:dns", { value: JSON.stringify({ provider: "none", hostnames: ["elsewhere.permacoop.test"] }) });
        await stack.setConfig("permacoop:tls", {
          value: JSON.stringify({
            enabled: true,
            email: "ops@permacoop.test",
            acmeDirectory: pebble.directory,
            caBundle: pebble.caBundle,
            deadlineSeconds: 60,
          }),
        });
        const started = Date.now();
        await expect(stack.up({ color: "never" })).rejects.toThrow(/no certificate for elsewhere\.permacoop\.test: check that each name resolves to this host/);
        expect(Date.now() - started).toBeLessThan(90_000);
        const page = await httpGet(`http://${server.address}:${httpPort()}/`);
        expect(page.status).toBe(200); // not a redirect to an HTTPS that has no certificate
        expect(page.body).toContain("version v5");
      });

      it("issues a certificate from an ACME server (Pebble) and serves HTTPS with a modern TLS setup", async () => {
        const stack = test().stack;
        const httpsPort = JSON.parse((await stack.getConfig("permacoop:host")).value).httpsPort as number;
        await stack.setConfig("permacoop:dns", { value: JSON.stringify({ provider: "none", hostnames: HOSTNAMES }) });
        const result = await stack.up({ color: "never" });
        expect(result.summary.result).toBe("succeeded");

        const curl = (...args: string[]) =>
          execFileSync(
            "curl",
            ["-s", "--resolve", `${HOSTNAMES[0]}:${httpsPort}:${server.address}`, "--resolve", `${HOSTNAMES[0]}:${httpPort()}:${server.address}`, ...args],
            {
              encoding: "utf8",
            },
          );
        expect(curl("-k", `https://${HOSTNAMES[0]}:${httpsPort}/`)).toContain("version v5");
        expect(curl("-o", "/dev/null", "-w", "%{http_code} %{redirect_url}", `http://${HOSTNAMES[0]}:${httpPort()}/x`)).toBe(
          `301 https://${HOSTNAMES[0]}:${httpsPort}/x`,
        );
        const certificate = execFileSync(
          "bash",
          [
            "-c",
            `echo | openssl s_client -connect ${server.address}:${httpsPort} -servername ${HOSTNAMES[0]} 2>/dev/null | openssl x509 -noout -issuer -ext subjectAltName`,
          ],
          { encoding: "utf8" },
        );
        expect(certificate).toMatch(/issuer=.*Pebble/);
        for (const name of HOSTNAMES) expect(certificate).toContain(`DNS:${name}`);

        const reportFile = join(mkdtempSync(join(tmpdir(), "testssl-")), "report.json");
        execFileSync(
          "testssl",
          [
            "--quiet",
            "--color",
            "0",
            "--warnings",
            "off",
            "--protocols",
            "--headers",
            "--ip",
            server.address,
            "--jsonfile",
            reportFile,
            `${HOSTNAMES[0]}:${httpsPort}`,
          ],
          { stdio: "ignore" },
        );
        const findings = Object.fromEntries((JSON.parse(readFileSync(reportFile, "utf8")) as { id: string; finding: string }[]).map((f) => [f.id, f.finding]));
        for (const old of ["SSLv2", "SSLv3", "TLS1", "TLS1_1"]) expect(findings[old]).toMatch(/^not offered/);
        expect(findings.TLS1_2).toMatch(/^offered/);
        expect(findings.TLS1_3).toMatch(/^offered/);
        expect(findings.HSTS_time).toMatch(/63072000/);
      });
    },
  });
});
