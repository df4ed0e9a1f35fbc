import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

type EnvVar = k8s.types.input.core.v1.EnvVar;
type Volume = k8s.types.input.core.v1.Volume;
type VolumeMount = k8s.types.input.core.v1.VolumeMount;

/** How a job reaches the cluster: as which etcd user, and with which CA to verify the members. */
export interface EtcdClientAccess {
    /** Secret (in the job's namespace) with the `username` and `password` of the job's etcd user; unset: anonymous. */
    readonly userSecretName?: pulumi.Input<string>;
    /** Secret with the CA of the members' certificate under `ca.crt`; unset: the members serve plain http. */
    readonly caSecretName?: pulumi.Input<string>;
}

/** Where the CA is mounted in a job's container. */
const CA_MOUNT_PATH = "/etc/etcd-ca";
/** The CA bundle's path in a job's container, when {@link EtcdClientAccess.caSecretName} is set. */
export const CA_FILE = `${CA_MOUNT_PATH}/ca.crt`;
const CA_VOLUME = "etcd-ca";

/** The user's name and password as variables named `names.user` and `names.password`, read from its Secret. */
export function userEnvironment(access: EtcdClientAccess, names: { readonly user: string; readonly password: string }): EnvVar[] {
    if (access.userSecretName === undefined) {
        return [];
    }
    const fromSecret = (name: string, key: string): EnvVar => ({ name, valueFrom: { secretKeyRef: { name: access.userSecretName!, key } } });
    return [fromSecret(names.user, "username"), fromSecret(names.password, "password")];
}

/** The volume with only the CA of the members' Secret (never its key), when there is one. */
export function caVolumes(access: EtcdClientAccess): Volume[] {
    return access.caSecretName === undefined ? [] : [{ name: CA_VOLUME, secret: { secretName: access.caSecretName, items: [{ key: "ca.crt", path: "ca.crt" }] } }];
}

export function caMounts(access: EtcdClientAccess): VolumeMount[] {
    return access.caSecretName === undefined ? [] : [{ name: CA_VOLUME, mountPath: CA_MOUNT_PATH, readOnly: true }];
}
