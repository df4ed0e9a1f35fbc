// Stand-ins for the stack's Secrets: the certificates its members present (a CA, and certificates
// holding exactly the names the stack's certificate declares; keys by node:crypto, certificates by
// openssl), and the users' credentials that the jobs read through secretKeyRef.
import { execFileSync } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import * as path from "node:path";

/** A certificate and its private key, as PEM files. */
export interface KeyPairFiles {
  cert: string;
  key: string;
}

export interface CertificateNames {
  dnsNames: readonly string[];
  /** Addresses the certificate must also be valid for (127.0.0.1 is always added). */
  ips: readonly string[];
}

/** What a stack declares about its etcd members: its resources (plan.json or under mocks) and manifests. */
export interface DeclaredMembers {
  resources: readonly { type: string; inputs: Record<string, any> }[];
  manifests: readonly { kind: string; metadata: { name?: string }; [key: string]: any }[];
}

/** An ECDSA P-256 key pair (PEM), in the form of the stack's keys (the tls provider's privateKeyPem: SEC1). */
const ecKeyPair = () =>
  generateKeyPairSync("ec", { namedCurve: "prime256v1", privateKeyEncoding: { type: "sec1", format: "pem" }, publicKeyEncoding: { type: "spki", format: "pem" } });

function writeFile(file: string, content: string): string {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, content, { mode: 0o600 });
  return file;
}

const writeKey = (file: string): string => writeFile(file, ecKeyPair().privateKey);

function openssl(args: string[]): void {
  execFileSync("openssl", args, { stdio: ["ignore", "ignore", "pipe"], timeout: 10_000 });
}

/** A self-signed CA in `dir` (ca.crt, ca.key), valid for a day. */
export function newCertificateAuthority(dir: string, commonName: string): KeyPairFiles {
  mkdirSync(dir, { recursive: true });
  const files = { cert: path.join(dir, "ca.crt"), key: writeKey(path.join(dir, "ca.key")) };
  const config = path.join(dir, "ca.cnf");
  // A config of our own: the system's openssl.cnf would add extensions of its choosing.
  writeFileSync(
    config,
    ["[req]", "distinguished_name = dn", "[dn]", "[ext]", "basicConstraints = critical, CA:TRUE", "keyUsage = critical, keyCertSign, cRLSign", "subjectKeyIdentifier = hash", ""].join("\n"),
  );
  openssl(["req", "-x509", "-new", "-config", config, "-extensions", "ext", "-key", files.key, "-subj", `/CN=${commonName}`, "-days", "1", "-out", files.cert]);
  return files;
}

/**
 * A certificate signed by `ca` in `dir` (tls.crt, tls.key) for server and client use, as the stack's
 * member certificate is, with `names.dnsNames` and IP SANs for 127.0.0.1 and `names.ips`.
 *
 * Why 127.0.0.1: a connection between two loopback addresses comes from 127.0.0.1, and with peer
 * client-certificate auth etcd checks the SANs of the connecting member's certificate against that
 * remote address (on GKE, the pod IP, found through the pod DNS names the certificate holds).
 */
export function issueCertificate(ca: KeyPairFiles, dir: string, names: CertificateNames): KeyPairFiles {
  mkdirSync(dir, { recursive: true });
  const files = { cert: path.join(dir, "tls.crt"), key: writeKey(path.join(dir, "tls.key")) };
  const config = path.join(dir, "member.cnf");
  const sans = [...names.dnsNames.map((name) => `DNS:${name}`), ...["127.0.0.1", ...names.ips].map((ip) => `IP:${ip}`)];
  writeFileSync(
    config,
    [
      "[req]",
      "distinguished_name = dn",
      "[dn]",
      "[ext]",
      "basicConstraints = critical, CA:FALSE",
      "keyUsage = critical, digitalSignature, keyEncipherment",
      "extendedKeyUsage = serverAuth, clientAuth",
      `subjectAltName = ${[...new Set(sans)].join(", ")}`,
      "authorityKeyIdentifier = keyid",
      "",
    ].join("\n"),
  );
  const subject = `/CN=${names.dnsNames[0] ?? names.ips[0]}`;
  openssl(["req", "-x509", "-new", "-config", config, "-extensions", "ext", "-key", files.key, "-CA", ca.cert, "-CAkey", ca.key, "-subj", subject, "-days", "1", "-out", files.cert]);
  return files;
}

/**
 * The names the stack's member certificate declares: the `tls` provider's CertRequest (self-signed
 * mode) or the cert-manager Certificate. Throws unless exactly one of them is declared.
 */
export function memberCertificateNames(stack: DeclaredMembers): CertificateNames {
  const declared = [
    ...stack.resources.filter((r) => r.type === "tls:index/certRequest:CertRequest").map((r) => r.inputs),
    ...stack.manifests.filter((m) => m.kind === "Certificate").map((m) => m.spec),
  ];
  if (declared.length !== 1) throw new Error(`expected one member certificate (CertRequest or Certificate), found ${declared.length}`);
  return { dnsNames: declared[0].dnsNames ?? [], ips: declared[0].ipAddresses ?? [] };
}

/**
 * `<secret>/<key>` -> value: the users' Secrets as the stack generates
 * them (letters and digits), each user name the one the auth bootstrap Job gives that password.
 */
export const USER_SECRET_KEY_REFS: Readonly<Record<string, string>> = Object.fromEntries(
  ["root", "apisix", "backup", "defrag", "membership"].flatMap((user) => [
    [`apisix-etcd-user-${user}/username`, user],
    [`apisix-etcd-user-${user}/password`, `${user[0].toUpperCase()}${user.slice(1)}0stand0in`],
  ]),
);
