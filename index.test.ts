/**
 * How index.ts maps the stack's configuration onto the data-safety components: the prod plan as
 * the global setup rendered it, and variants of the stack files run under the mocks (one child
 * process for all of them).
 */
import { findManifest, findResource, renderedPlan } from "./test/rendered-plan";
import { declared, declareStacks, DeclaredStack } from "./test/stack-under-mocks";

jest.setTimeout(120_000);

const RESTORE_URL = "gs://old-project-apisix-etcd-backups/etcd/2026/apisix-etcd-20260101T001700Z.db";

let dev: DeclaredStack;
let prodWithoutProject: DeclaredStack;
let devWithoutProject: DeclaredStack;
let existingClassRestore: DeclaredStack;
let snapshotRestore: DeclaredStack;
let open: DeclaredStack;
let clientTls: DeclaredStack;
let prod: DeclaredStack;
let prodRestoring: DeclaredStack;
let prodChangedOtherwise: DeclaredStack;
let prodLargerQuota: DeclaredStack;

beforeAll(async () => {
    [dev, prodWithoutProject, devWithoutProject, existingClassRestore, snapshotRestore, open, clientTls, prod, prodRestoring, prodChangedOtherwise, prodLargerQuota] = await declareStacks([
        { stackFile: "Pulumi.dev.yaml" },
        { stackFile: "Pulumi.prod.yaml", changes: { "gcp:project": undefined } },
        { stackFile: "Pulumi.dev.yaml", changes: { "gcp:project": undefined } },
        {
            stackFile: "Pulumi.prod.yaml",
            changes: {
                "apisix-etcd:storage": { size: "20Gi", className: "premium-rwo", provision: false },
                "apisix-etcd:backup": { bucket: "corp-etcd-backups" },
                "apisix-etcd:restore": { from: RESTORE_URL },
            },
        },
        { stackFile: "Pulumi.prod.yaml", changes: { "apisix-etcd:restore": { from: "volume-snapshot:data-apisix-etcd-0-20260101024300", revisionBump: 0 } } },
        { stackFile: "Pulumi.dev.yaml", changes: { "apisix-etcd:auth": { enabled: false }, "apisix-etcd:tls": { mode: "off" } } },
        { stackFile: "Pulumi.prod.yaml", changes: { "apisix-etcd:tls": { mode: "cert-manager", issuer: { name: "etcd-ca", kind: "ClusterIssuer" } } } },
        { stackFile: "Pulumi.prod.yaml" },
        { stackFile: "Pulumi.prod.yaml", changes: { "apisix-etcd:restore": { from: RESTORE_URL } } },
        {
            stackFile: "Pulumi.prod.yaml",
            changes: { "apisix-etcd:replicas": 5, "apisix-etcd:backup": { schedule: "47 */4 * * *" }, "apisix-etcd:auth": { tokenTtl: "15m" }, "apisix-etcd:defrag": { enabled: false } },
        },
        { stackFile: "Pulumi.prod.yaml", changes: { "apisix-etcd:quotaBackendBytes": "8Gi" } },
    ]);
});

describe("the prod plan", () => {
    const { manifests, plan } = renderedPlan("prod");
    const pod = (cronJob: string) => findManifest(manifests, "CronJob", cronJob).spec.jobTemplate.spec.template;

    test("the members' claims name the StorageClass the stack creates", () => {
        const storageClass = findManifest(manifests, "StorageClass");
        const statefulSet = findManifest(manifests, "StatefulSet", "apisix-etcd");
        expect(statefulSet.spec.volumeClaimTemplates[0].spec.storageClassName).toBe(storageClass.metadata.name);
        expect(storageClass).toMatchObject({ provisioner: "pd.csi.storage.gke.io", parameters: { type: "pd-ssd" }, reclaimPolicy: "Retain" });
    });

    test("on GKE every alert rests on what the stack makes sure exists: no kube-state-metrics or kubelet series", () => {
        const rules = findManifest(manifests, "Rules", "apisix-etcd-alerts").spec.groups.flatMap((g: any) => g.rules);
        const policies = plan.resources.filter((r) => r.type === "gcp:monitoring/alertPolicy:AlertPolicy");
        const queries = [...rules.map((r: any) => r.expr), ...policies.map((p) => p.inputs.conditions[0].conditionPrometheusQueryLanguage.query)];
        expect(queries.filter((q: string) => /\bkube_|\bkubelet_/.test(q))).toEqual([]);
        expect(policies.map((p) => p.inputs.displayName)).toEqual([
            "EtcdVolumeNearlyFull (apisix-prod/etcd)",
            "EtcdBackupStale (apisix-prod/etcd)",
            "EtcdAuthConvergenceStale (apisix-prod/etcd)",
            "EtcdMemberNeverStarted (apisix-prod/etcd)",
            "EtcdMembersBeyondReplicas (apisix-prod/etcd)",
        ]);
        // The backup's metric counts uploads to this stack's bucket only.
        const backupMetric = plan.resources.find((r) => r.type === "gcp:logging/metric:Metric" && r.inputs.name.includes("/apisix-etcd-backup/"))!;
        expect(backupMetric.inputs.filter).toContain('textPayload=~"^uploaded gs://apisix-prod-apisix-etcd-backups/etcd/"');
    });

    test("the volume snapshots cover each member's claim, with the stack's snapshot class", () => {
        const env = Object.fromEntries(pod("apisix-etcd-volume-snapshots").spec.containers[0].env.map((e: any) => [e.name, e.value]));
        expect(env.CLAIMS).toBe("data-apisix-etcd-0 data-apisix-etcd-1 data-apisix-etcd-2");
        expect(env.SNAPSHOT_CLASS).toBe(findManifest(manifests, "VolumeSnapshotClass").metadata.name);
        expect(env.KEEP).toBe("7");
    });

    test("the backup pods pass the members' NetworkPolicy to the client port, and use the client Service", () => {
        const policy = findManifest(manifests, "NetworkPolicy", "apisix-etcd");
        const clientRule = policy.spec.ingress.find((rule: any) => rule.ports.some((port: any) => port.port === 2379));
        const labels = pod("apisix-etcd-backup").metadata.labels;
        expect(clientRule.from.some((peer: any) => peer.podSelector && Object.entries(peer.podSelector.matchLabels).every(([k, v]) => labels[k] === v))).toBe(true);
        const [save] = pod("apisix-etcd-backup").spec.initContainers;
        expect(save.env).toContainEqual({ name: "ETCDCTL_ENDPOINTS", value: "http://apisix-etcd.etcd.svc.cluster.local:2379" });
    });

    test("backups go to the project's protected bucket, as a ServiceAccount bound to its writer", () => {
        const bucket = findResource(plan, "gcp:storage/bucket:Bucket");
        expect(bucket.inputs).toMatchObject({ name: "apisix-prod-apisix-etcd-backups", project: "apisix-prod", location: "EU" });
        expect(bucket.options.protect).toBe(true);
        const upload = pod("apisix-etcd-backup").spec.containers[0];
        expect(upload.env).toContainEqual({ name: "BUCKET", value: "apisix-prod-apisix-etcd-backups" });
        const serviceAccount = findManifest(manifests, "ServiceAccount", pod("apisix-etcd-backup").spec.serviceAccountName);
        expect(serviceAccount.metadata.annotations).toEqual({ "iam.gke.io/gcp-service-account": "apisix-etcd-backup@apisix-prod.iam.gserviceaccount.com" });
        expect(findResource(plan, "gcp:serviceaccount/iAMMember:IAMMember").inputs.member).toBe("serviceAccount:apisix-prod.svc.id.goog[etcd/apisix-etcd-backup]");
    });

    test("the defragmentation reaches every member, passes their NetworkPolicy, and waits for the backup Jobs by their labels", () => {
        const policy = findManifest(manifests, "NetworkPolicy", "apisix-etcd");
        const clientRule = policy.spec.ingress.find((rule: any) => rule.ports.some((port: any) => port.port === 2379));
        const labels = pod("apisix-etcd-defrag").metadata.labels;
        expect(clientRule.from.some((peer: any) => peer.podSelector && Object.entries(peer.podSelector.matchLabels).every(([k, v]) => labels[k] === v))).toBe(true);
        const env = Object.fromEntries(pod("apisix-etcd-defrag").spec.containers[0].env.map((e: any) => [e.name, e.value]));
        expect(env.MEMBERS).toBe([0, 1, 2].map((i) => `http://apisix-etcd-${i}.apisix-etcd-headless.etcd.svc.cluster.local:2379`).join(" "));
        const backupJobLabels = findManifest(manifests, "CronJob", "apisix-etcd-backup").spec.jobTemplate.metadata.labels;
        expect(Object.fromEntries(env.BACKUP_SELECTOR.split(",").map((pair: string) => pair.split("=")))).toEqual(backupJobLabels);
        expect(findManifest(manifests, "CronJob", "apisix-etcd-defrag").spec.schedule).toBe("37 4 * * 0");
    });

    test("the etcd steps of the backup run the members' own image", () => {
        const image = findManifest(manifests, "StatefulSet", "apisix-etcd").spec.template.spec.containers[0].image;
        expect(pod("apisix-etcd-backup").spec.initContainers.map((c: any) => c.image)).toEqual([image, image]);
    });

    test("declares no restore", () => {
        expect(findManifest(manifests, "StatefulSet", "apisix-etcd").spec.template.spec.initContainers.map((c: { name: string }) => c.name)).toEqual(["member-join"]);
    });
});

describe("access control in the prod plan", () => {
    const { manifests, plan } = renderedPlan("prod");
    const podOf = (kind: string, name: string) => {
        const workload = findManifest(manifests, kind, name);
        return kind === "CronJob" ? workload.spec.jobTemplate.spec.template.spec : workload.spec.template.spec;
    };
    const secretRefs = (pod: any): { name: string; optional?: boolean }[] =>
        [...(pod.initContainers ?? []), ...pod.containers].flatMap((c: any) => (c.env ?? []).filter((e: any) => e.valueFrom?.secretKeyRef).map((e: any) => e.valueFrom.secretKeyRef));
    const mountedSecrets = (pod: any): string[] => (pod.volumes ?? []).filter((v: any) => v.secret).map((v: any) => v.secret.secretName);

    test("every Secret a pod mounts or reads is one the stack writes (but root's previous password, handed over by an operator)", () => {
        const written = new Set(manifests.filter((m) => m.kind === "Secret" && m.metadata.namespace === "etcd").map((m) => m.metadata.name));
        const pods = [podOf("StatefulSet", "apisix-etcd"), podOf("Job", "apisix-etcd-auth"), podOf("CronJob", "apisix-etcd-backup"), podOf("CronJob", "apisix-etcd-defrag")];
        const used = pods.flatMap((pod) => [...mountedSecrets(pod), ...secretRefs(pod).filter((ref) => !ref.optional).map((ref) => ref.name)]);
        expect(used.length).toBeGreaterThan(5);
        expect(used.filter((name) => !written.has(name))).toEqual([]);
        expect(pods.flatMap(secretRefs).filter((ref) => ref.optional)).toEqual([{ name: "apisix-etcd-user-root-previous", key: "password", optional: true }]);
    });

    test("each job reads only its own user's Secret", () => {
        expect(new Set(secretRefs(podOf("CronJob", "apisix-etcd-backup")).map((ref) => ref.name))).toEqual(new Set(["apisix-etcd-user-backup"]));
        expect(new Set(secretRefs(podOf("CronJob", "apisix-etcd-defrag")).map((ref) => ref.name))).toEqual(new Set(["apisix-etcd-user-defrag"]));
        expect(secretRefs(podOf("CronJob", "apisix-etcd-volume-snapshots"))).toEqual([]);
    });

    test("the bootstrap declares APISIX's role on the configured prefix and the jobs' users, and runs after the members", () => {
        const env = Object.fromEntries(podOf("Job", "apisix-etcd-auth").containers[0].env.map((e: any) => [e.name, e.value]));
        expect(env.USERS.split("\n")).toEqual(["apisix PASSWORD_APISIX apisix", "backup PASSWORD_BACKUP root", "defrag PASSWORD_DEFRAG root", "membership PASSWORD_MEMBERSHIP root"]);
        expect(env.ROLES).toBe(`apisix READWRITE ${Buffer.from("/apisix").toString("base64")} ${Buffer.from("/apisiy").toString("base64")}`);
        expect(env.ENDPOINT).toBe("http://apisix-etcd.etcd.svc.cluster.local:2379");
        const job = findResource(plan, "kubernetes:batch/v1:Job", "apisix-etcd-auth");
        expect(job.options.dependsOn).toContain(findResource(plan, "kubernetes:apps/v1:StatefulSet", "apisix-etcd").urn);
    });

    test("APISIX's Secret lands in APISIX's namespace; with clients on http the jobs mount no CA", () => {
        expect(findManifest(manifests, "Secret", "apisix-etcd-credentials").metadata.namespace).toBe("apisix");
        expect(mountedSecrets(podOf("CronJob", "apisix-etcd-backup"))).toEqual([]);
        expect(mountedSecrets(podOf("StatefulSet", "apisix-etcd")).sort()).toEqual(["apisix-etcd-tls", "apisix-etcd-token-key"]);
    });
});

describe("access control variants", () => {
    test("auth and TLS off: no Secrets, no bootstrap, no tokens, plain http", () => {
        expect(open.error).toBeUndefined();
        // The one Job left changes the membership, anonymously.
        expect(open.manifests.filter((m) => ["Secret", "Job"].includes(m.kind)).map((m) => m.metadata.name)).toEqual(["apisix-etcd-scale-down"]);
        const declared = findManifest(open.manifests, "ConfigMap", "apisix-etcd-config").data["etcd.yaml"] as string;
        expect(declared).not.toMatch(/auth-token|transport-security|cert-file|key-file|trusted-ca/);
        expect(declared).toMatch(/^listen-peer-urls: http:\/\//m);
    });

    test("cert-manager with client TLS: a Certificate for the members' Secret, https everywhere, the jobs verify with its CA", () => {
        expect(clientTls.error).toBeUndefined();
        const certificate = findManifest(clientTls.manifests, "Certificate", "apisix-etcd-tls");
        expect(certificate.spec).toMatchObject({ secretName: "apisix-etcd-tls", issuerRef: { name: "etcd-ca", kind: "ClusterIssuer" } });
        expect(certificate.spec.dnsNames).toEqual(expect.arrayContaining(["apisix-etcd.etcd.svc.cluster.local", "apisix-etcd-2.apisix-etcd-headless.etcd.svc.cluster.local"]));
        expect(clientTls.manifests.filter((m) => m.kind === "Secret").map((m) => m.metadata.name)).not.toContain("apisix-etcd-tls");
        const backup = findManifest(clientTls.manifests, "CronJob", "apisix-etcd-backup").spec.jobTemplate.spec.template.spec;
        expect(backup.initContainers[0].env).toEqual(expect.arrayContaining([
            { name: "ETCDCTL_ENDPOINTS", value: "https://apisix-etcd.etcd.svc.cluster.local:2379" },
            { name: "ETCDCTL_CACERT", value: "/etc/etcd-ca/ca.crt" },
        ]));
        expect(backup.volumes).toContainEqual({ name: "etcd-ca", secret: { secretName: "apisix-etcd-tls", items: [{ key: "ca.crt", path: "ca.crt" }] } });
    });
});

describe("the dev stack", () => {
    test("declares no backup; in Google Cloud only the monitoring of the auth bootstrap, the membership and the volumes", () => {
        expect(dev.error).toBeUndefined();
        expect(dev.resources.filter((r) => r.type.startsWith("gcp:")).map((r) => `${r.type} ${r.inputs.name ?? r.inputs.displayName}`)).toEqual([
            "gcp:logging/metric:Metric apisix-etcd/apisix-dev/etcd/apisix-etcd-auth/succeeded",
            "gcp:logging/metric:Metric apisix-etcd/apisix-dev/etcd/apisix-etcd/membership-checks",
            "gcp:monitoring/alertPolicy:AlertPolicy EtcdVolumeNearlyFull (apisix-dev/etcd)",
            "gcp:monitoring/alertPolicy:AlertPolicy EtcdAuthConvergenceStale (apisix-dev/etcd)",
            "gcp:monitoring/alertPolicy:AlertPolicy EtcdMemberNeverStarted (apisix-dev/etcd)",
            "gcp:monitoring/alertPolicy:AlertPolicy EtcdMembersBeyondReplicas (apisix-dev/etcd)",
        ]);
        expect(dev.manifests.filter((m) => m.kind === "CronJob").map((m) => m.metadata.name).sort()).toEqual(["apisix-etcd-auth", "apisix-etcd-defrag", "apisix-etcd-volume-snapshots"]);
        // No backups to wait for: the defragmentation needs no API access.
        expect(dev.manifests.filter((m) => m.kind === "Role").map((m) => m.metadata.name)).not.toContain("apisix-etcd-defrag");
    });

    test("has one member on its own, unprotected, smaller storage class", () => {
        const statefulSet = dev.manifests.find((m) => m.kind === "StatefulSet")!;
        expect(statefulSet.spec.replicas).toBe(1);
        expect(statefulSet.spec.volumeClaimTemplates[0].spec).toMatchObject({ storageClassName: "apisix-etcd-dev-ssd", resources: { requests: { storage: "5Gi" } } });
        expect(dev.manifests.find((m) => m.kind === "StorageClass")).toMatchObject({ metadata: { name: "apisix-etcd-dev-ssd" }, parameters: { type: "pd-balanced" } });
        expect(dev.resources.filter((r) => r.options.protect)).toEqual([]);
    });

    test("without gcp:project, asks for it by name (GKE's monitoring lives in the cluster's project)", () => {
        expect(devWithoutProject.error).toMatch(/Missing required configuration variable 'gcp:project'/);
    });
});

test("prod without gcp:project fails, naming it", () => {
    expect(prodWithoutProject.error).toMatch(/Missing required configuration variable 'gcp:project'/);
});

describe("prod on an existing storage class, a bucket of its own name, restoring from a backup of another project", () => {
    const stack = () => existingClassRestore;

    test("declares no StorageClass; the claims name the existing one", () => {
        expect(stack().error).toBeUndefined();
        expect(stack().manifests.filter((m) => m.kind === "StorageClass")).toEqual([]);
        expect(stack().manifests.find((m) => m.kind === "StatefulSet")!.spec.volumeClaimTemplates[0].spec.storageClassName).toBe("premium-rwo");
    });

    test("names the bucket as configured", () => {
        expect(declared(stack(), "gcp:storage/bucket:Bucket").inputs.name).toBe("corp-etcd-backups");
    });

    test("lets the members read the backup's bucket (only that) through Workload Identity, then restore from it", () => {
        const readers = stack().resources.filter((r) => r.type === "gcp:storage/bucketIAMMember:BucketIAMMember" && r.inputs.role === "roles/storage.objectViewer");
        expect(readers.map((r) => r.inputs)).toEqual([
            { bucket: "old-project-apisix-etcd-backups", role: "roles/storage.objectViewer", member: "serviceAccount:apisix-etcd-restore@apisix-prod.iam.gserviceaccount.com" },
        ]);
        expect(stack().resources.filter((r) => r.type === "gcp:serviceaccount/iAMMember:IAMMember").map((r) => r.inputs.member)).toContain(
            "serviceAccount:apisix-prod.svc.id.goog[etcd/apisix-etcd]",
        );
        const statefulSet = stack().manifests.find((m) => m.kind === "StatefulSet")!;
        const members = stack().manifests.find((m) => m.kind === "ServiceAccount" && m.metadata.name === statefulSet.spec.template.spec.serviceAccountName)!;
        expect(members.metadata.annotations).toEqual({ "iam.gke.io/gcp-service-account": "apisix-etcd-restore@apisix-prod.iam.gserviceaccount.com" });
        const fetch = statefulSet.spec.template.spec.initContainers[0];
        expect(fetch.env).toContainEqual({ name: "SOURCE_URL", value: RESTORE_URL });
    });
});

describe("memory follows the backend quota", () => {
    const etcdOf = (stack: DeclaredStack) => stack.manifests.find((m) => m.kind === "StatefulSet")!.spec.template.spec.containers[0];
    const backupPod = (stack: DeclaredStack) => stack.manifests.find((m) => m.kind === "CronJob" && m.metadata.name === "apisix-etcd-backup")!.spec.jobTemplate.spec.template.spec;

    test("without apisix-etcd:resources, the members request and are limited to the quota plus the larger of 1Gi and half of it", () => {
        expect(etcdOf(prod).resources).toEqual({ requests: { cpu: "500m", memory: "6144Mi" }, limits: { memory: "6144Mi" } });
        expect(etcdOf(prodLargerQuota).resources).toEqual({ requests: { cpu: "500m", memory: "12288Mi" }, limits: { memory: "12288Mi" } });
        expect(findManifest(prodLargerQuota.manifests, "ConfigMap", "apisix-etcd-config").data["etcd.yaml"]).toMatch(new RegExp(`^quota-backend-bytes: ${8 * 2 ** 30}$`, "m"));
    });

    test("resources the stack sets are used as they are", () => {
        expect(etcdOf(dev).resources).toEqual({ requests: { cpu: "100m", memory: "256Mi" }, limits: { memory: "512Mi" } });
    });

    test("the backup's verification and the members' restore may hold a database at the quota", () => {
        expect(backupPod(prod).initContainers[1].resources.limits.memory).toBe("4608Mi");
        expect(backupPod(prodLargerQuota).initContainers[1].resources.limits.memory).toBe("8704Mi");
        const restore = prodRestoring.manifests.find((m) => m.kind === "StatefulSet")!.spec.template.spec.initContainers.find((c: { name: string }) => c.name === "restore");
        expect(restore.resources.limits.memory).toBe("4608Mi");
    });
});

describe("a restore runs the auth bootstrap Job again in the same update", () => {
    // pulumi-kubernetes replaces a Job whose template changed (a Job's template is immutable), and only then.
    const jobTemplate = (stack: DeclaredStack) => {
        expect(stack.error).toBeUndefined();
        return stack.manifests.find((m) => m.kind === "Job" && m.metadata.name === "apisix-etcd-auth")!.spec.template;
    };

    test("setting restore.from changes the Job's template, so the users and passwords are the stack's again at once", () => {
        expect(jobTemplate(prodRestoring)).not.toEqual(jobTemplate(prod));
        expect(jobTemplate(prodRestoring).metadata.annotations["apisix-etcd/restore-from"]).toBe(RESTORE_URL);
    });

    test("another source changes it again; removing the restore changes it back", () => {
        expect(jobTemplate(snapshotRestore)).not.toEqual(jobTemplate(prodRestoring));
        expect(jobTemplate(snapshotRestore).metadata.annotations["apisix-etcd/restore-from"]).toBe("volume-snapshot:data-apisix-etcd-0-20260101024300");
        expect(jobTemplate(prod).metadata.annotations["apisix-etcd/restore-from"]).toBeUndefined();
    });

    test("other changes to the stack leave the Job's template as it is", () => {
        expect(jobTemplate(prodChangedOtherwise)).toEqual(jobTemplate(prod));
    });
});

test("a restore from a volume snapshot needs no GCS access and, with revisionBump 0, keeps the revision", () => {
    expect(snapshotRestore.error).toBeUndefined();
    expect(snapshotRestore.resources.filter((r) => r.inputs.role === "roles/storage.objectViewer")).toEqual([]);
    const pod = snapshotRestore.manifests.find((m) => m.kind === "StatefulSet")!.spec.template.spec;
    expect(pod.volumes.find((v: any) => v.name === "restore-source").ephemeral.volumeClaimTemplate.spec.dataSource.name).toBe("data-apisix-etcd-0-20260101024300");
    expect(pod.initContainers[1].args.join(" ")).not.toMatch(/bump-revision/);
});
