import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

/** Where the members' certificate Secret (`tls.crt`, `tls.key`, `ca.crt`) is mounted. */
const TLS_MOUNT_PATH = "/etc/etcd/tls";
/** Where the token signing key pair (`jwt.key`, `jwt.pub`) is mounted. */
const JWT_MOUNT_PATH = "/etc/etcd/jwt";

/** How the members protect themselves: certificates, and the key that signs authentication tokens. */
export interface MemberSecurity {
    /**
     * The members' certificate: a Secret with `tls.crt`, `tls.key` and `ca.crt` (what cert-manager
     * writes). Peers then use mutual TLS; `clientTls` serves clients over https too. Unset: plain http.
     */
    readonly tls?: { readonly secretName: pulumi.Input<string>; readonly clientTls: boolean };
    /**
     * The ES256 key pair that signs and checks authentication tokens: a Secret with `jwt.key` and
     * `jwt.pub`. Every member holds the same pair, so a token from one member is good at the others.
     * Authentication itself is switched on by the auth bootstrap; unset: no tokens configured.
     */
    readonly authTokens?: { readonly secretName: pulumi.Input<string>; readonly ttl: string };
}

type Volume = k8s.types.input.core.v1.Volume;
type VolumeMount = k8s.types.input.core.v1.VolumeMount;

/** Only the pod's group (fsGroup) reads the keys. */
const KEY_FILE_MODE = 0o440;

/** etcd's settings (keys of its configuration file) for {@link MemberSecurity}. */
export function securityConfiguration(security: MemberSecurity): Record<string, unknown> {
    const settings: Record<string, unknown> = {};
    const certificate = { "cert-file": `${TLS_MOUNT_PATH}/tls.crt`, "key-file": `${TLS_MOUNT_PATH}/tls.key` };
    if (security.tls) {
        // A peer must show a certificate of the same CA: nobody else can join or replicate. etcd also matches
        // the connecting peer's address against the certificate's names (reverse, then forward DNS lookups
        // of the pod names): etcd 3.5 cannot turn that off from a configuration file (neither key is read;
        // 3.6 reads skip-client-san-verification in this section), so a rescheduled member is refused
        // until the cluster DNS answers its new address, which it does within the DNS cache's TTL.
        settings["peer-transport-security"] = { ...certificate, "trusted-ca-file": `${TLS_MOUNT_PATH}/ca.crt`, "client-cert-auth": true };
        if (security.tls.clientTls) {
            // Clients verify the members; they prove who they are with a user and password, not a certificate.
            settings["client-transport-security"] = certificate;
        }
    }
    if (security.authTokens) {
        settings["auth-token"] = [
            "jwt",
            `pub-key=${JWT_MOUNT_PATH}/jwt.pub`,
            `priv-key=${JWT_MOUNT_PATH}/jwt.key`,
            "sign-method=ES256",
            `ttl=${security.authTokens.ttl}`,
        ].join(",");
    }
    return settings;
}

/** The Secret volumes {@link securityConfiguration} refers to, and their mounts in the etcd container. */
export function securityVolumes(security: MemberSecurity): { volumes: Volume[]; mounts: VolumeMount[] } {
    const secrets = [
        ...(security.tls ? [{ name: "tls", secretName: security.tls.secretName, keys: ["tls.crt", "tls.key", "ca.crt"], mountPath: TLS_MOUNT_PATH }] : []),
        ...(security.authTokens ? [{ name: "jwt", secretName: security.authTokens.secretName, keys: ["jwt.key", "jwt.pub"], mountPath: JWT_MOUNT_PATH }] : []),
    ];
    return {
        volumes: secrets.map((secret) => ({
            name: secret.name,
            secret: { secretName: secret.secretName, defaultMode: KEY_FILE_MODE, items: secret.keys.map((key) => ({ key, path: key })) },
        })),
        mounts: secrets.map((secret) => ({ name: secret.name, mountPath: secret.mountPath, readOnly: true })),
    };
}
