import * as pulumi from "@pulumi/pulumi";
import { childrenOf, declareUnderMocks } from "../../test/component-mocks";
import { RegisteredResource } from "../../plan/recording-monitor";
import { MemberCertificates, MemberCertificatesArgs } from "./member-certificates";

const base: Omit<MemberCertificatesArgs, "source"> = {
    namespace: "etcd",
    secretName: "kv-tls",
    dnsNames: ["kv-0.kv-headless.etcd.svc.cluster.local", "kv", "kv.etcd.svc.cluster.local"],
    labels: { "app.kubernetes.io/instance": "kv" },
};

let resources: RegisteredResource[];
const errors: string[] = [];

beforeAll(async () => {
    resources = await declareUnderMocks(() => {
        new MemberCertificates("own", { ...base, source: { kind: "selfSigned", validityDays: 90 } });
        new MemberCertificates("issued", { ...base, secretName: "kv-issued", source: { kind: "certManager", issuer: { name: "etcd-ca", kind: "ClusterIssuer", group: "cert-manager.io" } } });
        try {
            new MemberCertificates("nameless", { ...base, dnsNames: [], source: { kind: "selfSigned", validityDays: 90 } });
        } catch (error) {
            expect(error).toBeInstanceOf(pulumi.ResourceError);
            errors.push((error as Error).message);
        }
    });
});

const of = (name: string, type: string) => childrenOf(resources, "apisix-etcd:index:MemberCertificates", name).filter((r) => r.type === type);

describe("self-signed", () => {
    test("a CA signs the members' certificate, which covers every name and serves both ends of a TLS connection", () => {
        const [ca] = of("own", "tls:index/selfSignedCert:SelfSignedCert");
        expect(ca.inputs).toMatchObject({ isCaCertificate: true, allowedUses: ["cert_signing", "crl_signing"], validityPeriodHours: 10 * 90 * 24 });
        const [request] = of("own", "tls:index/certRequest:CertRequest");
        expect(request.inputs.dnsNames).toEqual([...base.dnsNames, "localhost"]);
        expect(request.inputs.ipAddresses).toEqual(["127.0.0.1"]);
        const [certificate] = of("own", "tls:index/locallySignedCert:LocallySignedCert");
        expect(certificate.inputs).toMatchObject({ validityPeriodHours: 90 * 24, earlyRenewalHours: 30 * 24 });
        expect(certificate.inputs.allowedUses).toEqual(expect.arrayContaining(["server_auth", "client_auth"]));
    });

    test("the Secret has the layout cert-manager writes, so the members read the same files from either source", () => {
        const [secret] = of("own", "kubernetes:core/v1:Secret");
        expect(secret.inputs).toMatchObject({ type: "kubernetes.io/tls", metadata: { name: "kv-tls", namespace: "etcd" } });
        const data = (secret.inputs.stringData as { value: Record<string, string> }).value;
        expect(Object.keys(data).sort()).toEqual(["ca.crt", "tls.crt", "tls.key"]);
    });
});

describe("cert-manager", () => {
    test("a Certificate from the issuer writes the Secret; the stack makes no key itself", () => {
        const [certificate] = of("issued", "kubernetes:cert-manager.io/v1:Certificate");
        expect(certificate.inputs).toMatchObject({
            metadata: { name: "kv-issued", namespace: "etcd" },
            spec: {
                secretName: "kv-issued",
                commonName: base.dnsNames[0],
                dnsNames: [...base.dnsNames, "localhost"],
                ipAddresses: ["127.0.0.1"],
                usages: ["digital signature", "key encipherment", "server auth", "client auth"],
                issuerRef: { name: "etcd-ca", kind: "ClusterIssuer", group: "cert-manager.io" },
            },
        });
        expect(childrenOf(resources, "apisix-etcd:index:MemberCertificates", "issued").filter((r) => r.type.startsWith("tls:"))).toEqual([]);
    });
});

test("refuses a certificate without names", () => {
    expect(errors).toEqual([expect.stringContaining("dnsNames must name at least one host")]);
});
