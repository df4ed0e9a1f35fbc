// The Secrets the stack generates, made by the test for the pod sandbox: the member certificate with
// exactly the names the stack's certificate declares (its DNS names and its own IP SANs, no test
// address: peers are checked through the pods' DNS names, as on GKE), its CA, the token key pair and
// the users' credentials. Every Secret of the manifests whose keys are all known here is made.
import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { issueCertificate, memberCertificateNames, newCertificateAuthority, USER_SECRET_KEY_REFS, type DeclaredMembers } from "../etcd/stack-secrets";

export type SecretData = Record<string, Record<string, string>>;

export interface StackSecrets {
    /** Secret name -> key -> value, for PodSandbox's `secrets`. */
    secrets: SecretData;
    /** PEM of the CA that signed the member certificate (what a client of the members trusts). */
    caCert: string;
}

/** Keys the stack's Secrets hold that a test can make, by Secret-independent key. */
function knownValues(dir: string, stack: DeclaredMembers): { values: Record<string, string>; caCert: string } {
    const ca = newCertificateAuthority(path.join(dir, "ca"), "apisix-etcd sandbox CA");
    const declared = memberCertificateNames(stack);
    const member = issueCertificate(ca, path.join(dir, "member"), declared);
    const jwt = generateKeyPairSync("ec", { namedCurve: "prime256v1", privateKeyEncoding: { type: "sec1", format: "pem" }, publicKeyEncoding: { type: "spki", format: "pem" } });
    const read = (file: string): string => readFileSync(file, "utf8");
    return {
        values: { "tls.crt": read(member.cert), "tls.key": read(member.key), "ca.crt": read(ca.cert), "jwt.key": jwt.privateKey, "jwt.pub": jwt.publicKey },
        caCert: read(ca.cert),
    };
}

/** The stack's Secrets (those of `stack.manifests` whose every key is known); the files made on the way are removed. */
export function stackSecrets(stack: DeclaredMembers): StackSecrets {
    const dir = mkdtempSync(path.join(os.tmpdir(), "stack-secrets-"));
    let known: ReturnType<typeof knownValues>;
    try {
        known = knownValues(dir, stack);
    } finally {
        rmSync(dir, { recursive: true, force: true });
    }
    const { values, caCert } = known;
    const secrets: SecretData = {};
    for (const manifest of stack.manifests.filter((m) => m.kind === "Secret")) {
        const name = manifest.metadata.name!;
        const keys = Object.keys({ ...manifest.stringData, ...manifest.data });
        const data: Record<string, string> = {};
        for (const key of keys) {
            const value = USER_SECRET_KEY_REFS[`${name}/${key}`] ?? values[key];
            if (value !== undefined) data[key] = value;
        }
        if (keys.length > 0 && Object.keys(data).length === keys.length) secrets[name] = data;
    }
    return { secrets, caCert };
}
