import { execFileSync } from "node:child_process";
import { createTestStack, httpGet, TestStack } from "./harness";
import { APP_IMAGE, prepareImages } from "./lifecycle";

// The Scaleway VM path minus the Scaleway API: the program's own keys and cloud-init user data,
// run by the real cloud-init on a Debian root (host kind local-vm), then reached over SSH as on Scaleway.
const ENV = "e2evm";
const ADDRESS = "10.231.8.2";
const url = `http://${ADDRESS}/`;
let test: TestStack;

const netnsList = () => execFileSync("ip", ["netns", "list"], { encoding: "utf8" });

beforeAll(async () => {
  prepareImages();
  test = await createTestStack(ENV, {
    "permacoop:host": { value: { kind: "local-vm", slot: 8 } },
    "permacoop:database": { value: { kind: "container" } },
    "permacoop:dns": { value: { provider: "none", hostnames: ["localhost"] } },
    "permacoop:tls": { value: { enabled: false } },
    "permacoop:services": {
      value: [{ name: "app", image: `${APP_IMAGE}:v2`, port: 3000, healthPath: "/healthz", pullPolicy: "never", env: { APP_VERSION: "vm" } }],
    },
  });
});

afterAll(async () => {
  await test?.dispose();
});

describe("a VM booted by the program's own cloud-init (host kind local-vm)", () => {
  it("up: the VM boots from the rendered user data, presents the pinned host key, and serves the app with its database", async () => {
    const result = await test.stack.up({ color: "never" });
    expect(result.summary.result).toBe("succeeded");
    const page = await httpGet(url);
    expect(page.status).toBe(200);
    expect(page.body).toContain("version vm");
    expect(page.body).toMatch(/database round trip: visit #1\b/);
    const outputs = await test.stack.outputs();
    const pinned = (outputs.ssh!.value as { hostKey: string }).hostKey;
    expect(execFileSync("ssh-keyscan", ["-t", "ed25519", ADDRESS], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] })).toContain(pinned);
  });

  it("a change of the user data (an ops key) replaces the VM, and every step runs again there", async () => {
    await test.stack.setConfig("permacoop:host", {
      value: JSON.stringify({ kind: "local-vm", slot: 8, sshPublicKeys: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOps ops@example.org"] }),
    });
    const result = await test.stack.up({ color: "never" });
    expect(result.summary.result).toBe("succeeded");
    expect(result.summary.resourceChanges?.replace).toBe(1); // the VM; the host steps are updates
    const page = await httpGet(url);
    expect(page.status).toBe(200);
    expect(page.body).toMatch(/database round trip: visit #1\b/); // a new machine: its container database starts empty
    const again = await test.stack.up({ color: "never" });
    expect(Object.entries(again.summary.resourceChanges ?? {}).filter(([op]) => op !== "same")).toEqual([]);
  });

  it("destroy removes the VM", async () => {
    await test.stack.destroy({ color: "never" });
    expect(netnsList()).not.toContain("pc-vm-vme2evm");
    await expect(httpGet(url)).rejects.toThrow();
  });
});
