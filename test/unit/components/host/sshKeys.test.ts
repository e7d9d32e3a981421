import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ed25519KeyPair } from "../../../../components/host/sshKeys";

describe("Ed25519 keys from a seed", () => {
  const pair = ed25519KeyPair(Buffer.alloc(32, 42), "deploy@prod-host");

  it("are deterministic", () => {
    expect(ed25519KeyPair(Buffer.alloc(32, 42), "deploy@prod-host")).toEqual(pair);
    expect(ed25519KeyPair(Buffer.alloc(32, 43), "deploy@prod-host").publicKey).not.toBe(pair.publicKey);
  });

  it("are read by OpenSSH: ssh-keygen derives the same public key from the private one", () => {
    const file = join(mkdtempSync(join(tmpdir(), "key-")), "id_ed25519");
    writeFileSync(file, pair.privateKey, { mode: 0o600 });
    expect(execFileSync("ssh-keygen", ["-y", "-f", file], { encoding: "utf8" }).trim()).toBe(pair.publicKey);
  });

  it("refuse a seed of the wrong size", () => {
    expect(() => ed25519KeyPair(Buffer.alloc(16), "x")).toThrow(/32 bytes/);
  });
});
