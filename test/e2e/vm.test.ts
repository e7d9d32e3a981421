import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { createTestStack, deployedContract, httpStackConfig, databasePassword, httpGet, plaintextSecretsInState, TestStack } from "./harness";
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
  test = await createTestStack(
    ENV,
    httpStackConfig({ kind: "local-vm", slot: 8 }, [
      { name: "app", image: `${APP_IMAGE}:v2`, port: 3000, healthPath: "/healthz", pullPolicy: "never", env: { APP_VERSION: "vm" } },
    ]),
  );
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
    const presented = execFileSync("ssh-keyscan", ["-t", "ed25519", ADDRESS], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
    expect(presented.trim().split(/\s+/).slice(1, 3)).toEqual(pinned.split(/\s+/).slice(0, 2));
  });

  it("the state holds no secret in plaintext: the deploy and host private keys, the database password", async () => {
    const outputs = await test.stack.outputs();
    const vmDocker = "unix:///var/lib/permacoop-vm-hosts/vme2evm/root/run/docker.sock";
    const secrets = {
      deployPrivateKey: outputs.sshPrivateKey!.value as string,
      databasePassword: databasePassword((await deployedContract(test, ENV)).dbContainer, vmDocker),
      hostPrivateKey: readFileSync("/var/lib/permacoop-vm-hosts/vme2evm/root/etc/ssh/ssh_host_ed25519_key", "utf8"),
    };
    expect(plaintextSecretsInState(test, secrets)).toEqual([]);
    expect(plaintextSecretsInState(test, { control: `urn:pulumi:${test.stack.name}::` })).toEqual(["control"]);
  });

  it("a change of the user data (an ops key) replaces the VM, and every step runs again there", async () => {
    await test.stack.setConfig("permacoop:host", {
      value: JSON.stringify({
        kind: "local-vm",
        slot: 8,
        sshPublicKeys: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHc2p5Zb0Q9y8m7x3kVt4Jb9qW1eR6tY2uI8oP0aS4dF ops@example.org"],
      }),
    });
    const replaced: string[] = [];
    const updated: string[] = [];
    const result = await test.stack.up({
      color: "never",
      onEvent: (event) => {
        const pre = event.resourcePreEvent?.metadata;
        if (!pre) return;
        const name = pre.urn.split("::").pop()!;
        if (pre.op === "replace") replaced.push(name);
        if (pre.op === "update") updated.push(name);
      },
    });
    expect(result.summary.result).toBe("succeeded");
    // Once per machine: the VM, the wait for its first boot, the copy of the images. Every host step
    // runs again there as an update (its command names the machine), never as a delete + create.
    expect(replaced.sort()).toEqual([`${ENV}-host-cloud-init`, `${ENV}-host-images`, `${ENV}-host-vm`]);
    expect(updated).toEqual(
      expect.arrayContaining([`${ENV}-runtime-scripts`, `${ENV}-runtime-data`, `${ENV}-runtime-runtime`, `${ENV}-runtime-proxy`, `${ENV}-runtime-app-rollout`]),
    );
    const page = await httpGet(url);
    expect(page.status).toBe(200);
    expect(page.body).toMatch(/database round trip: visit #1\b/); // a new machine: its container database starts empty
    const again = await test.stack.up({ color: "never" });
    expect(Object.entries(again.summary.resourceChanges ?? {}).filter(([op]) => op !== "same")).toEqual([]);
  });

  it("destroy removes the VM", async () => {
    await test.stack.destroy({ color: "never" });
    expect(netnsList()).not.toContain("pc-vm-vme2evm");
    // Its address is no longer on this machine (no request is sent there: it would leave the machine).
    expect(execFileSync("ip", ["-o", "-4", "addr", "show"], { encoding: "utf8" })).not.toContain("10.231.8.1/");
    expect(existsSync("/var/lib/permacoop-vm-hosts/vme2evm")).toBe(false);
  });
});
