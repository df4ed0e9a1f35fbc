import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";

/** A cert-manager issuer: `Issuer` (in the cluster's namespace) or `ClusterIssuer`. */
export interface CertificateIssuer {
    readonly name: string;
    readonly kind: "Issuer" | "ClusterIssuer";
    readonly group: string;
}

export interface MemberCertificatesArgs {
    /** Namespace of the members, where the certificate's Secret is written. */
    readonly namespace: pulumi.Input<string>;
    /** The Secret the members mount: `tls.crt`, `tls.key`, `ca.crt`. */
    readonly secretName: string;
    /** Every name the members are reached by in the cluster (localhost and 127.0.0.1 are added); the first is the common name. */
    readonly dnsNames: readonly string[];
    readonly labels: Readonly<Record<string, string>>;
    /** `selfSigned`: the stack creates a CA and signs the certificate itself. `certManager`: cert-manager does, from `issuer`. */
    readonly source: { readonly kind: "selfSigned"; readonly validityDays: number } | { readonly kind: "certManager"; readonly issuer: CertificateIssuer };
}

const HOURS_PER_DAY = 24;
/** A self-created certificate is renewed by the first `pulumi up` in its last 30 days. */
const RENEW_BEFORE_DAYS = 30;
/** Key usages of the members' certificate: it serves clients and peers, and is a peer's client certificate too. */
const MEMBER_USAGES = ["digital_signature", "key_encipherment", "server_auth", "client_auth"];
/** etcdctl inside a member pod reaches its own member at localhost / 127.0.0.1 (the runbooks do). */
const LOCAL_NAME = "localhost";
const LOOPBACK = ["127.0.0.1"];

/**
 * The certificate every member presents to clients and to its peers, in one Secret of type
 * kubernetes.io/tls with the CA beside it (`ca.crt`), as cert-manager writes it: the members read
 * the same three files whichever source made them. etcd reads the certificate on each new connection,
 * so a renewal reaches running members without a restart; a new CA needs a rolling restart
 * (docs/operations.md).
 */
export class MemberCertificates extends pulumi.ComponentResource {
    /** The Secret's name (known up front, so the members can name it before it exists). */
    public readonly secretName: string;
    /** The CA's certificate, when the stack made it; cert-manager's CA lives with its issuer. */
    public readonly caCertificate?: pulumi.Output<string>;

    constructor(name: string, args: MemberCertificatesArgs, opts?: pulumi.ComponentResourceOptions) {
        super("apisix-etcd:index:MemberCertificates", name, {}, opts);
        if (args.dnsNames.length === 0) {
            throw new pulumi.ResourceError("dnsNames must name at least one host", this);
        }
        this.secretName = args.secretName;
        const dnsNames = [...args.dnsNames, LOCAL_NAME];
        const metadata = { name: args.secretName, namespace: args.namespace, labels: args.labels };
        const source = args.source;

        if (source.kind === "certManager") {
            new k8s.apiextensions.CustomResource(
                name,
                {
                    apiVersion: "cert-manager.io/v1",
                    kind: "Certificate",
                    metadata,
                    spec: {
                        secretName: args.secretName,
                        secretTemplate: { labels: args.labels },
                        commonName: args.dnsNames[0],
                        dnsNames,
                        ipAddresses: LOOPBACK,
                        // cert-manager spells the same usages with spaces.
                        usages: MEMBER_USAGES.map((usage) => usage.replace("_", " ")),
                        privateKey: { algorithm: "ECDSA", size: 256, rotationPolicy: "Always" },
                        duration: "2160h",
                        renewBefore: "720h",
                        issuerRef: { name: source.issuer.name, kind: source.issuer.kind, group: source.issuer.group },
                    },
                },
                { parent: this },
            );
        } else {
            const ecdsaKey = { algorithm: "ECDSA", ecdsaCurve: "P256" };
            const caKey = new tls.PrivateKey(`${name}-ca`, ecdsaKey, { parent: this });
            const ca = new tls.SelfSignedCert(
                `${name}-ca`,
                {
                    privateKeyPem: caKey.privateKeyPem,
                    isCaCertificate: true,
                    subject: { commonName: `${args.secretName} CA` },
                    allowedUses: ["cert_signing", "crl_signing"],
                    validityPeriodHours: 10 * source.validityDays * HOURS_PER_DAY,
                },
                { parent: this },
            );
            const memberKey = new tls.PrivateKey(`${name}-member`, ecdsaKey, { parent: this });
            const request = new tls.CertRequest(
                `${name}-member`,
                { privateKeyPem: memberKey.privateKeyPem, subject: { commonName: args.dnsNames[0] }, dnsNames, ipAddresses: LOOPBACK },
                { parent: this },
            );
            const certificate = new tls.LocallySignedCert(
                `${name}-member`,
                {
                    certRequestPem: request.certRequestPem,
                    caPrivateKeyPem: caKey.privateKeyPem,
                    caCertPem: ca.certPem,
                    allowedUses: MEMBER_USAGES,
                    validityPeriodHours: source.validityDays * HOURS_PER_DAY,
                    earlyRenewalHours: RENEW_BEFORE_DAYS * HOURS_PER_DAY,
                },
                { parent: this },
            );
            new k8s.core.v1.Secret(
                name,
                {
                    metadata,
                    type: "kubernetes.io/tls",
                    stringData: { "tls.crt": certificate.certPem, "tls.key": pulumi.secret(memberKey.privateKeyPem), "ca.crt": ca.certPem },
                },
                { parent: this },
            );
            this.caCertificate = ca.certPem;
        }
        this.registerOutputs({ secretName: this.secretName, caCertificate: this.caCertificate });
    }
}
