import { createHash, createPrivateKey, createPublicKey } from "node:crypto";

/** An Ed25519 key pair in OpenSSH formats. */
export interface OpenSshKeyPair {
  /** `ssh-ed25519 AAAA… comment` */
  readonly publicKey: string;
  /** `-----BEGIN OPENSSH PRIVATE KEY-----` (unencrypted). */
  readonly privateKey: string;
}

// DER prefix of a PKCS#8 Ed25519 private key; the 32-byte seed follows.
const PKCS8_ED25519_PREFIX = Buffer.from("302e020100300506032b657004220420", "hex");

function sshString(data: Buffer | string): Buffer {
  const bytes = typeof data === "string" ? Buffer.from(data) : data;
  const length = Buffer.alloc(4);
  length.writeUInt32BE(bytes.length);
  return Buffer.concat([length, bytes]);
}

function uint32(value: number): Buffer {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(value);
  return out;
}

/**
 * Derives an Ed25519 key pair from a 32-byte seed, in OpenSSH formats. Pure and deterministic:
 * the seed (a `random.RandomBytes`, kept secret in the state) is the key. Used to pin a VM's
 * host key before it boots, and to give the deploy user a key no human handles.
 */
export function ed25519KeyPair(seed: Buffer, comment: string): OpenSshKeyPair {
  if (seed.length !== 32) throw new Error(`ed25519KeyPair: the seed must be 32 bytes, got ${seed.length}`);
  const privateKey = createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]), format: "der", type: "pkcs8" });
  const jwk = createPublicKey(privateKey).export({ format: "jwk" }) as { x: string };
  const publicRaw = Buffer.from(jwk.x, "base64url");
  const publicBlob = Buffer.concat([sshString("ssh-ed25519"), sshString(publicRaw)]);

  // openssh-key-v1, no cipher. The check integer is normally random; derive it for purity.
  const check = createHash("sha256").update(seed).digest().readUInt32BE(0);
  let secret = Buffer.concat([
    uint32(check),
    uint32(check),
    sshString("ssh-ed25519"),
    sshString(publicRaw),
    sshString(Buffer.concat([seed, publicRaw])),
    sshString(comment),
  ]);
  const padding: number[] = [];
  for (let i = 1; (secret.length + padding.length) % 8 !== 0; i++) padding.push(i);
  secret = Buffer.concat([secret, Buffer.from(padding)]);
  const body = Buffer.concat([
    Buffer.from("openssh-key-v1\0"),
    sshString("none"),
    sshString("none"),
    sshString(""),
    uint32(1),
    sshString(publicBlob),
    sshString(secret),
  ]);
  const lines = body.toString("base64").match(/.{1,70}/g) ?? [];
  return {
    publicKey: `ssh-ed25519 ${publicBlob.toString("base64")} ${comment}`,
    privateKey: ["-----BEGIN OPENSSH PRIVATE KEY-----", ...lines, "-----END OPENSSH PRIVATE KEY-----", ""].join("\n"),
  };
}
