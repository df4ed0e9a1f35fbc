import * as k8s from "@pulumi/kubernetes";

type ResourceRequirements = k8s.types.input.core.v1.ResourceRequirements;

const MIB = 2 ** 20;
const GIB = 2 ** 30;

const mebibytes = (bytes: number) => `${Math.ceil(bytes / MIB)}Mi`;

/**
 * A member's requests and limits when the stack does not set them, from its backend quota: the
 * quota (bbolt maps the whole database into memory, and the pages etcd touches count against the
 * limit) plus the larger of 1Gi and half the quota for the heap: the key index, watchers, and the
 * raft entries since the last snapshot (etcd 3.5 keeps up to 100 000; with APISIX's values of a few
 * KB that is well under the headroom, but large values hold more: a member that wrote a 1.1 GiB
 * database in values of 700 KB peaked at 3.1 GiB, `npm run bench`, backupMemory). Memory is
 * requested as much as the limit: the scheduler then places a member only where it fits, and the
 * kubelet evicts it last under node pressure. The policy etcd-member-memory-headroom checks any
 * limit against the same headroom.
 */
export function memberResourcesForQuota(quotaBackendBytes: number): ResourceRequirements {
    const memory = mebibytes(quotaBackendBytes + Math.max(GIB, quotaBackendBytes / 2));
    return { requests: { cpu: "500m", memory }, limits: { memory } };
}

/**
 * Requests and limits of a step that restores a snapshot of up to `maxDatabaseBytes` with etcdutl
 * (a backup's verification, a member's restore): etcdutl maps the database it writes, so its peak
 * resident memory is about the database's size (measured: 1.14 GiB for a 1.10 GiB database, `npm run
 * bench`, backupMemory), plus 512Mi for the runtime. Requested in full, as the step needs it all.
 */
export function snapshotRestoreResources(maxDatabaseBytes: number): ResourceRequirements {
    const memory = mebibytes(maxDatabaseBytes + 512 * MIB);
    return { requests: { cpu: "100m", memory }, limits: { memory } };
}
