import * as pulumi from "@pulumi/pulumi";
import { childrenOf, declareUnderMocks } from "../../test/component-mocks";
import { RegisteredResource } from "../../plan/recording-monitor";
import { BackupCronJob, BackupCronJobArgs } from "./backup-cron-job";
import { UPLOAD_SCRIPT } from "./upload-script";

const instanceLabels = { "app.kubernetes.io/instance": "apisix-etcd", "app.kubernetes.io/part-of": "apisix" };
const args: BackupCronJobArgs = {
    namespace: "etcd",
    name: "apisix-etcd-backup",
    serviceAccountName: "apisix-etcd-backup",
    serviceAccountAnnotations: { "iam.gke.io/gcp-service-account": "apisix-etcd-backup@apisix-prod.iam.gserviceaccount.com" },
    schedule: "17 */6 * * *",
    instanceLabels,
    etcdImage: "gcr.io/etcd-development/etcd:v3.5.33",
    cloudSdkImage: "gcr.io/google.com/cloudsdktool/google-cloud-cli:562.0.0-slim",
    clientUrl: "https://apisix-etcd.etcd.svc.cluster.local:2379",
    access: { userSecretName: "apisix-etcd-user-backup", caSecretName: "apisix-etcd-tls" },
    bucketName: "apisix-prod-apisix-etcd-backups",
    objectPrefix: "etcd",
    snapshotName: "apisix-etcd",
    maxDatabaseBytes: 4 * 2 ** 30,
};

let resources: RegisteredResource[];
const errors: string[] = [];

beforeAll(async () => {
    resources = await declareUnderMocks(() => {
        new BackupCronJob("backup", args);
        try {
            new BackupCronJob("no-quota", { ...args, maxDatabaseBytes: 0 });
        } catch (error) {
            expect(error).toBeInstanceOf(pulumi.ResourceError);
            errors.push((error as Error).message);
        }
    });
});

const children = () => childrenOf(resources, "apisix-etcd:index:BackupCronJob", "backup");
const ofKind = (kind: string) => children().filter((r) => r.inputs.kind === kind).map((r) => r.inputs as any);
const cronJob = () => ofKind("CronJob")[0];
const pod = () => cronJob().spec.jobTemplate.spec.template.spec;
const envOf = (container: any) => Object.fromEntries(container.env.map((e: { name: string; value: string }) => [e.name, e.value]));

test("declares the uploader's ServiceAccount, bound to the bucket's writer, and the CronJob", () => {
    expect(children().map((r) => r.inputs.kind).sort()).toEqual(["CronJob", "ServiceAccount"]);
    const [serviceAccount] = ofKind("ServiceAccount");
    expect(serviceAccount.metadata).toMatchObject({ name: "apisix-etcd-backup", namespace: "etcd", annotations: args.serviceAccountAnnotations });
    expect(serviceAccount.automountServiceAccountToken).toBe(false);
    expect(pod().serviceAccountName).toBe("apisix-etcd-backup");
});

test("runs on schedule in UTC, never two at once, with bounded retries, deadline and history", () => {
    expect(cronJob().spec).toMatchObject({
        schedule: "17 */6 * * *",
        timeZone: "Etc/UTC",
        concurrencyPolicy: "Forbid",
        startingDeadlineSeconds: 3600,
        successfulJobsHistoryLimit: 3,
        failedJobsHistoryLimit: 5,
        jobTemplate: { spec: { backoffLimit: 2, activeDeadlineSeconds: 1800 } },
    });
    expect(pod().restartPolicy).toBe("Never");
});

test("saves a snapshot through the client Service, then restores it, both with the etcd image and no shell", () => {
    const [save, verify] = pod().initContainers;
    expect(save).toMatchObject({ name: "snapshot", image: args.etcdImage, command: ["/usr/local/bin/etcdctl"], args: ["snapshot", "save", "/backup/snapshot.db"] });
    expect(envOf(save)).toMatchObject({ ETCDCTL_ENDPOINTS: args.clientUrl });
    expect(verify).toMatchObject({
        name: "verify",
        image: args.etcdImage,
        command: ["/usr/local/bin/etcdutl"],
        args: ["snapshot", "restore", "/backup/snapshot.db", "--data-dir", "/backup/verify"],
    });
});

test("the snapshot step authenticates as the backup user from its Secret and verifies the members with the CA only", () => {
    const [save, verify] = pod().initContainers;
    const secretRef = (name: string) => save.env.find((e: any) => e.name === name)?.valueFrom?.secretKeyRef;
    expect(secretRef("ETCDCTL_USER")).toEqual({ name: "apisix-etcd-user-backup", key: "username" });
    expect(secretRef("ETCDCTL_PASSWORD")).toEqual({ name: "apisix-etcd-user-backup", key: "password" });
    expect(envOf(save).ETCDCTL_CACERT).toBe("/etc/etcd-ca/ca.crt");
    expect(save.volumeMounts).toContainEqual({ name: "etcd-ca", mountPath: "/etc/etcd-ca", readOnly: true });
    // The members' key stays out of the backup pod: only ca.crt of their Secret is projected.
    expect(pod().volumes).toContainEqual({ name: "etcd-ca", secret: { secretName: "apisix-etcd-tls", items: [{ key: "ca.crt", path: "ca.crt" }] } });
    expect(verify.env ?? []).toEqual([]);
});

test("without a user or a CA the snapshot step is anonymous over plain http", async () => {
    const plain = await declareUnderMocks(() => new BackupCronJob("plain", { ...args, name: "plain", access: {} }));
    const cron = childrenOf(plain, "apisix-etcd:index:BackupCronJob", "plain").find((r) => r.inputs.kind === "CronJob")!.inputs as any;
    const [save] = cron.spec.jobTemplate.spec.template.spec.initContainers;
    expect(save.env.map((e: any) => e.name)).not.toEqual(expect.arrayContaining(["ETCDCTL_USER"]));
    expect(save.env.map((e: any) => e.name).filter((n: string) => /USER|PASSWORD|CACERT/.test(n))).toEqual([]);
    expect(cron.spec.jobTemplate.spec.template.spec.volumes.map((v: any) => v.name)).not.toContain("etcd-ca");
});

test("only then uploads it with the Cloud SDK image's curl, to the bucket, through GCS's JSON API with a token from the metadata server", () => {
    const [upload] = pod().containers;
    expect(upload).toMatchObject({ name: "upload", image: args.cloudSdkImage, command: ["/bin/bash", "-c", UPLOAD_SCRIPT] });
    expect(envOf(upload)).toEqual({
        SNAPSHOT: "/backup/snapshot.db",
        BUCKET: args.bucketName,
        OBJECT_PREFIX: "etcd",
        SNAPSHOT_NAME: "apisix-etcd",
        METADATA_URL: "http://metadata.google.internal",
        STORAGE_URL: "https://storage.googleapis.com",
        METADATA_WAIT_SECONDS: "120",
    });
});

test("the verification may hold a database at the quota in memory, and is given it in full; the snapshot and upload stream", () => {
    const [save, verify] = pod().initContainers;
    expect(verify.resources).toEqual({ requests: { cpu: "100m", memory: "4608Mi" }, limits: { memory: "4608Mi" } });
    expect(save.resources.limits.memory).toBe("512Mi");
    expect(pod().containers[0].resources.limits.memory).toBe("256Mi");
});

test("the steps share an emptyDir large enough for a snapshot at the quota and its restored copy", () => {
    const volume = pod().volumes.find((v: any) => v.name === "backup");
    expect(volume.emptyDir.sizeLimit).toBe(`${8 * 1024 + 512}Mi`);
    for (const container of [...pod().initContainers, ...pod().containers]) {
        expect(container.volumeMounts).toContainEqual({ name: "backup", mountPath: "/backup" });
    }
});

test("every container meets the restricted Pod Security Standard, with a read-only root filesystem", () => {
    expect(pod().securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 65532, seccompProfile: { type: "RuntimeDefault" } });
    for (const container of [...pod().initContainers, ...pod().containers]) {
        expect(container.securityContext).toEqual({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true, capabilities: { drop: ["ALL"] } });
        expect(container.resources.limits.memory).toBeDefined();
    }
});

test("the pods carry the instance labels, which the members' NetworkPolicy admits to the client port", () => {
    expect(cronJob().spec.jobTemplate.spec.template.metadata.labels).toMatchObject(instanceLabels);
    expect(cronJob().spec.jobTemplate.spec.template.metadata.labels["app.kubernetes.io/name"]).not.toBe("etcd");
});

test("refuses a database size it cannot size the scratch volume for", () => {
    expect(errors).toEqual([expect.stringMatching(/maxDatabaseBytes must be a positive integer, got 0/)]);
});
