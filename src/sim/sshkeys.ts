import { createHash, generateKeyPairSync } from "node:crypto";

/** SSH public key parsing and generation for Nova keypairs. */

const KEY_TYPES = new Set([
  "ssh-rsa",
  "ssh-dss",
  "ssh-ed25519",
  "ecdsa-sha2-nistp256",
  "ecdsa-sha2-nistp384",
  "ecdsa-sha2-nistp521",
  "sk-ssh-ed25519@openssh.com",
  "sk-ecdsa-sha2-nistp256@openssh.com",
]);

/** Nova's MD5 fingerprint of an OpenSSH public key, or undefined when the key is not one. */
export function sshFingerprint(publicKey: string): string | undefined {
  const parts = publicKey.trim().split(/\s+/);
  if (parts.length < 2 || !KEY_TYPES.has(parts[0] as string)) return undefined;
  const b64 = parts[1] as string;
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) return undefined;
  const blob = Buffer.from(b64, "base64");
  // The blob starts with the key type as an SSH string; a mismatch means it is not a key.
  if (blob.length < 4) return undefined;
  const len = blob.readUInt32BE(0);
  if (blob.subarray(4, 4 + len).toString() !== parts[0]) return undefined;
  const hex = createHash("md5").update(blob).digest("hex");
  return hex.match(/../g)?.join(":");
}

function sshString(b: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(b.length);
  return Buffer.concat([len, b]);
}

function mpint(b: Buffer): Buffer {
  let x = b;
  while (x.length > 1 && x[0] === 0) x = x.subarray(1);
  if ((x[0] ?? 0) & 0x80) x = Buffer.concat([Buffer.from([0]), x]);
  return sshString(x);
}

/** A fresh RSA keypair as Nova (< 2.92) returns it: OpenSSH public key and PEM private key. */
export function generateSshKeypair(comment: string): { publicKey: string; privateKey: string } {
  const { publicKey, privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const jwk = publicKey.export({ format: "jwk" });
  const e = Buffer.from(jwk.e as string, "base64url");
  const n = Buffer.from(jwk.n as string, "base64url");
  const blob = Buffer.concat([sshString(Buffer.from("ssh-rsa")), mpint(e), mpint(n)]);
  return {
    publicKey: `ssh-rsa ${blob.toString("base64")} ${comment}`,
    privateKey: privateKey.export({ format: "pem", type: "pkcs1" }).toString(),
  };
}
