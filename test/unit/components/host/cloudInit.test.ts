import { parse as parseYaml } from "yaml";
import { CLOUD_INIT_DONE_MARKER, renderCloudInit } from "../../../../components/host/cloudInit";
import { ed25519KeyPair } from "../../../../components/host/sshKeys";
import { cloudInitSchema } from "../../../support/validators";

const args = {
  deployUser: "deploy",
  sshPublicKeys: [
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHc2p5Zb0Q9y8m7x3kVt4Jb9qW1eR6tY2uI8oP0aS4dF ops@example.org",
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINCGBo66TPUHrZjNmucmEKNYI742H/FG0KR6iOLLqa3K dev@example.org",
  ],
  hostname: "prod-host",
};

describe("cloud-init renderer", () => {
  const rendered = renderCloudInit(args);
  const document = parseYaml(rendered.replace(/^#cloud-config\n/, ""));

  it("matches the snapshot", () => {
    expect(rendered).toMatchSnapshot();
  });

  it("installs Docker and unattended upgrades, and marks the host ready last", () => {
    expect(document.packages).toEqual(expect.arrayContaining(["docker.io", "unattended-upgrades"]));
    expect(document.runcmd.at(-1)).toEqual(["touch", CLOUD_INIT_DONE_MARKER]);
  });

  it("creates the deploy user with the configured keys, in the docker group, without a password", () => {
    expect(document.users).toEqual([
      expect.objectContaining({ name: "deploy", groups: ["docker"], lock_passwd: true, ssh_authorized_keys: args.sshPublicKeys }),
    ]);
  });

  it("disables password and root SSH", () => {
    expect(document.ssh_pwauth).toBe(false);
    expect(document.disable_root).toBe(true);
    const sshd = document.write_files.find((f: { path: string }) => f.path.startsWith("/etc/ssh/sshd_config.d/"));
    expect(sshd.content).toMatch(/^PasswordAuthentication no$/m);
    expect(sshd.content).toMatch(/^PermitRootLogin no$/m);
  });

  it("is deterministic (a change replaces the server, so no spurious change may appear)", () => {
    expect(renderCloudInit(args)).toBe(rendered);
  });

  it("refuses to render a host nobody can log into", () => {
    expect(() => renderCloudInit({ ...args, sshPublicKeys: [] })).toThrow(/SSH public key/);
  });

  it("passes `cloud-init schema` (Debian package cloud-init)", () => {
    const result = cloudInitSchema(rendered);
    expect(result.output).toMatch(/^Valid (schema|cloud-config)/m);
    expect(result.ok).toBe(true);
  });

  it("installs a pinned host key when given one, and still passes `cloud-init schema`", () => {
    const hostKey = ed25519KeyPair(Buffer.alloc(32, 3), "prod-host");
    const withKey = renderCloudInit({ ...args, hostKey });
    const doc = parseYaml(withKey.replace(/^#cloud-config\n/, ""));
    expect(doc.ssh_keys).toEqual({ ed25519_private: hostKey.privateKey, ed25519_public: hostKey.publicKey });
    expect(doc.ssh_genkeytypes).toEqual(["ed25519"]); // only the pinned type: no other key to negotiate
    const result = cloudInitSchema(withKey);
    expect(result.output).toMatch(/^Valid (schema|cloud-config)/m);
    expect(result.ok).toBe(true);
  });

  it("`cloud-init schema` really rejects invalid user data (the validator can fail)", () => {
    expect(cloudInitSchema(`${rendered}ssh_pwauth: [not, a, boolean]\n`).ok).toBe(false);
  });
});
