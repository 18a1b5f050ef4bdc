// @peculiar/x509 resolves its parsers through tsyringe, which needs the Reflect metadata polyfill loaded first.
import "reflect-metadata";
import { webcrypto, X509Certificate } from "node:crypto";
import * as x509 from "@peculiar/x509";

/**
 * Self-signed serving certificates for the conversion webhook, for clusters without cert-manager: a CA that signs
 * one serving certificate. The apiserver trusts the CA through the CRDs' caBundle.
 */

export interface ServingCertificate {
  caPem: string;
  certPem: string;
  keyPem: string;
}

const ALG = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;
/** @peculiar/x509 is typed against the DOM's Crypto; Node's webcrypto is that same API. */
type DomCrypto = NonNullable<Parameters<typeof x509.X509CertificateGenerator.create>[1]>;
const crypto = webcrypto as unknown as DomCrypto;
const subtle = webcrypto.subtle;

function serial(): string {
  // Positive 16-byte serial (top bit clear), as RFC 5280 asks.
  const b = webcrypto.getRandomValues(new Uint8Array(16));
  b[0] = b[0]! & 0x7f;
  return Buffer.from(b).toString("hex");
}

async function keyPair(): Promise<webcrypto.CryptoKeyPair> {
  return subtle.generateKey(ALG, true, ["sign", "verify"]);
}

/** The names the serving certificate is valid for: DNS names and IP addresses (e.g. 127.0.0.1 for local runs). */
export interface CertificateNames {
  dnsNames: string[];
  ipAddresses: string[];
}

export async function generateServingCertificate(
  names: CertificateNames,
  validityMs: number,
  now = new Date(),
): Promise<ServingCertificate> {
  const notBefore = new Date(now.getTime() - 60_000); // tolerate small clock skew with the apiserver
  const notAfter = new Date(now.getTime() + validityMs);
  const caKeys = await keyPair();
  const ca = await x509.X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: serial(),
      name: "CN=capo-webhook-ca",
      notBefore,
      notAfter,
      keys: caKeys,
      signingAlgorithm: ALG,
      extensions: [
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey, false, crypto),
      ],
    },
    crypto,
  );
  const leafKeys = await keyPair();
  const leaf = await x509.X509CertificateGenerator.create(
    {
      serialNumber: serial(),
      subject: `CN=${names.dnsNames[0] ?? names.ipAddresses[0] ?? "capo-webhook"}`,
      issuer: ca.subject,
      notBefore,
      notAfter,
      publicKey: leafKeys.publicKey,
      signingKey: caKeys.privateKey,
      signingAlgorithm: ALG,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
        new x509.SubjectAlternativeNameExtension([
          ...names.dnsNames.map((value) => ({ type: "dns" as const, value })),
          ...names.ipAddresses.map((value) => ({ type: "ip" as const, value })),
        ]),
        await x509.AuthorityKeyIdentifierExtension.create(caKeys.publicKey, false, crypto),
      ],
    },
    crypto,
  );
  const pkcs8 = await subtle.exportKey("pkcs8", leafKeys.privateKey);
  return {
    caPem: ca.toString("pem") + "\n",
    certPem: leaf.toString("pem") + "\n",
    keyPem: x509.PemConverter.encode(pkcs8, "PRIVATE KEY") + "\n",
  };
}

/** When a certificate stops being valid. */
export function notAfter(certPem: string): Date {
  return new Date(new X509Certificate(certPem).validTo);
}

/** When a certificate started being valid. */
export function notBefore(certPem: string): Date {
  return new Date(new X509Certificate(certPem).validFrom);
}

/** True once less than a third of the certificate's lifetime is left (cert-manager's default renewal point). */
export function needsRenewal(certPem: string, now = new Date()): boolean {
  const start = notBefore(certPem).getTime();
  const end = notAfter(certPem).getTime();
  return now.getTime() >= end - (end - start) / 3;
}

/** True when `certPem` names every DNS name and IP address given (a changed Service or URL needs a new one). */
export function coversNames(certPem: string, names: CertificateNames): boolean {
  const san = new X509Certificate(certPem).subjectAltName ?? "";
  const entries = new Set(san.split(",").map((s) => s.trim()));
  return (
    names.dnsNames.every((d) => entries.has(`DNS:${d}`)) && names.ipAddresses.every((ip) => entries.has(`IP Address:${ip}`))
  );
}
