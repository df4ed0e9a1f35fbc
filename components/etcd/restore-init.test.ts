/**
 * The restore steps of a member: what they declare for each kind of source, their shell steps run
 * on a folder standing for the data volume, and their place in the EtcdCluster's pod template.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { declareUnderMocks } from "../../test/component-mocks";
import { createBucket, GCS_STAND_IN, installGcsStandIn } from "../../test/backup/fake-gcs";
import { RegisteredResource } from "../../plan/recording-monitor";
import { EtcdCluster, EtcdClusterArgs } from "./cluster";
import { memberRestoreSteps, MemberRestoreStepsArgs } from "./restore-init";
import { ClusterTopology } from "./topology";

const topology = new ClusterTopology({ name: "apisix-etcd", namespace: "etcd", replicas: 3, clusterDomain: "cluster.local", peerTls: false, clientTls: false });
const URL = "gs://apisix-prod-apisix-etcd-backups/etcd/2026/apisix-etcd-20260101T001700Z.db";
const base: MemberRestoreStepsArgs = {
    source: { kind: "gcs", url: URL },
    revisionBump: 1_000_000_000,
    toolsImage: "gcr.io/google.com/cloudsdktool/google-cloud-cli:562.0.0-slim",
    topology,
    image: "gcr.io/etcd-development/etcd:v3.5.33",
    dataVolume: "data",
    dataMountPath: "/var/lib/etcd",
    dataDir: "/var/lib/etcd/data",
    volumeSize: "20Gi",
    maxDatabaseBytes: 4 * 2 ** 30,
};
const fromBackup = memberRestoreSteps(base);
const fromSnapshot = memberRestoreSteps({ ...base, source: { kind: "volumeSnapshot", name: "data-apisix-etcd-0-20260101024300" } });

const container = (steps: typeof fromBackup, name: string) => steps.initContainers.find((c) => c.name === name) as any;
const envOf = (c: any): Record<string, string> => Object.fromEntries(c.env.filter((e: any) => e.value !== undefined).map((e: any) => [e.name, e.value]));
const flag = (args: string[], name: string) => args[args.indexOf(name) + 1];

describe("declared steps", () => {
    test("fetch, restore, install, in that order; only etcdutl runs from the etcd image", () => {
        for (const steps of [fromBackup, fromSnapshot]) {
            expect(steps.initContainers.map((c) => [c.name, c.image])).toEqual([
                ["restore-fetch", base.toolsImage],
                ["restore", base.image],
                ["restore-install", base.toolsImage],
            ]);
            expect(container(steps, "restore").command).toEqual(["/usr/local/bin/etcdutl"]);
        }
    });

    test("each member restores under its own name and peer URL into the cluster of all members", () => {
        const args: string[] = container(fromBackup, "restore").args;
        expect(args.slice(0, 3)).toEqual(["snapshot", "restore", "/var/lib/etcd/restore-snapshot.db"]);
        expect(flag(args, "--name")).toBe("$(POD_NAME)");
        expect(flag(args, "--initial-cluster")).toBe(topology.initialCluster);
        expect(flag(args, "--initial-advertise-peer-urls")).toBe(topology.peerUrl("$(POD_NAME)"));
        expect(flag(args, "--data-dir")).toBe("/var/lib/etcd/restore-staging");
        expect(container(fromBackup, "restore").env).toEqual([{ name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } }]);
    });

    test("the revision is bumped and marked compacted, unless the bump is 0", () => {
        expect(container(fromBackup, "restore").args.slice(-3)).toEqual(["--bump-revision", "1000000000", "--mark-compacted"]);
        const unbumped: string[] = container(memberRestoreSteps({ ...base, revisionBump: 0 }), "restore").args;
        expect(unbumped.some((arg) => /bump|compacted/.test(arg))).toBe(false);
    });

    test("the restored cluster's token is not the original one, and differs per snapshot", () => {
        const token = (steps: typeof fromBackup) => flag(container(steps, "restore").args, "--initial-cluster-token");
        expect(token(fromBackup)).not.toBe(topology.headlessServiceName);
        expect(token(fromBackup)).toMatch(/^apisix-etcd-headless-restore-[0-9a-f]{8}$/);
        expect(token(fromBackup)).toBe(token(memberRestoreSteps(base)));
        expect(token(fromSnapshot)).not.toBe(token(fromBackup));
    });

    test("a backup is downloaded from GCS's JSON API and its hash checked; there are no extra volumes", () => {
        expect(envOf(container(fromBackup, "restore-fetch"))).toMatchObject({
            SOURCE_URL: URL,
            DOWNLOAD: "/var/lib/etcd/restore-snapshot.db",
            METADATA_URL: "http://metadata.google.internal",
            STORAGE_URL: "https://storage.googleapis.com",
        });
        expect(container(fromBackup, "restore").args).not.toContain("--skip-hash-check");
        expect(fromBackup.volumes).toEqual([]);
    });

    test("a volume snapshot becomes the pod's own disk, read-only, whose database is restored without a hash", () => {
        expect(envOf(container(fromSnapshot, "restore-fetch")).SOURCE_URL).toBeUndefined();
        const restore = container(fromSnapshot, "restore");
        expect(restore.args[2]).toBe("/restore-source/data/member/snap/db");
        expect(restore.args).toContain("--skip-hash-check");
        expect(restore.volumeMounts).toContainEqual({ name: "restore-source", mountPath: "/restore-source", readOnly: true });
        expect(fromSnapshot.volumes).toContainEqual({
            name: "restore-source",
            ephemeral: {
                volumeClaimTemplate: {
                    spec: {
                        accessModes: ["ReadWriteOnce"],
                        resources: { requests: { storage: "20Gi" } },
                        dataSource: { apiGroup: "snapshot.storage.k8s.io", kind: "VolumeSnapshot", name: "data-apisix-etcd-0-20260101024300" },
                    },
                },
            },
        });
    });

    test("the restore step may hold a database at the quota in memory, and is given it in full; the shell steps stay small", () => {
        expect(container(fromBackup, "restore").resources).toEqual({ requests: { cpu: "100m", memory: "4608Mi" }, limits: { memory: "4608Mi" } });
        expect(container(memberRestoreSteps({ ...base, maxDatabaseBytes: 8 * 2 ** 30 }), "restore").resources.limits.memory).toBe("8704Mi");
        expect(container(fromBackup, "restore-fetch").resources.limits.memory).toBe("256Mi");
    });

    test("every step meets the restricted Pod Security Standard and mounts the data volume", () => {
        for (const c of [...fromBackup.initContainers, ...fromSnapshot.initContainers]) {
            expect(c.securityContext).toEqual({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true, capabilities: { drop: ["ALL"] } });
            expect(c.volumeMounts).toContainEqual({ name: "data", mountPath: "/var/lib/etcd" });
        }
    });
});

describe("shell steps on a folder standing for the data volume", () => {
    let volume: string;
    let bin: string;
    const paths = () => ({ DATA_DIR: `${volume}/data`, STAGING_DIR: `${volume}/restore-staging`, DOWNLOAD: `${volume}/restore-snapshot.db` });
    /** A step's script with the container's env (but paths); the fetch inside the GCS stand-in as an identity holding `role`. */
    const run = (step: string, env: Record<string, string> = {}, gcs: { role?: string; tokenRefusals?: number } = {}) => {
        const c = container(fromBackup, step);
        const command = step === "restore-fetch" ? [GCS_STAND_IN, "--role", gcs.role ?? "roles/storage.objectViewer", "--token-refusals", String(gcs.tokenRefusals ?? 0), "--", "bash"] : ["bash"];
        return spawnSync(command[0], [...command.slice(1), ...c.command.slice(1)], {
            encoding: "utf8",
            timeout: 60_000,
            env: { PATH: `${bin}:${process.env.PATH}`, ...envOf(c), ...paths(), ...env },
        });
    };
    const write = (file: string, content = "x") => {
        fs.mkdirSync(path.dirname(path.join(volume, file)), { recursive: true });
        fs.writeFileSync(path.join(volume, file), content);
    };
    const read = (file: string) => fs.readFileSync(path.join(volume, file), "utf8");

    beforeEach(() => {
        volume = fs.mkdtempSync(path.join(os.tmpdir(), "restore-steps-"));
        bin = path.join(volume, "..", `${path.basename(volume)}-bin`);
        installGcsStandIn(bin, `${volume}-gcs`);
        createBucket(`${volume}-gcs`, "bucket");
    });
    afterEach(() => {
        for (const dir of [volume, bin, `${volume}-gcs`]) fs.rmSync(dir, { recursive: true, force: true });
    });

    const putBackup = (name: string, content: string) => {
        fs.mkdirSync(path.dirname(`${volume}-gcs/bucket/${name}`), { recursive: true });
        fs.writeFileSync(`${volume}-gcs/bucket/${name}`, content);
    };

    test("fetch drops a staging dir and download left by an interrupted restore, then downloads the backup as an object viewer", () => {
        write("restore-staging/member/snap/db", "half");
        write("restore-snapshot.db", "old");
        write("restore-snapshot.db.partial", "older");
        putBackup("etcd/2026/b.db", "backup");
        const result = run("restore-fetch", { SOURCE_URL: "gs://bucket/etcd/2026/b.db" });
        expect(result.status).toBe(0);
        expect(result.stdout).toContain("downloaded gs://bucket/etcd/2026/b.db (6 bytes)");
        expect(fs.existsSync(paths().STAGING_DIR)).toBe(false);
        expect(fs.readdirSync(volume)).toEqual(["restore-snapshot.db"]);
        expect(read("restore-snapshot.db")).toBe("backup");
    });

    test("fetch waits for the metadata server's token, which may not come right after the pod starts", () => {
        putBackup("etcd/b.db", "backup");
        expect(run("restore-fetch", { SOURCE_URL: "gs://bucket/etcd/b.db" }, { tokenRefusals: 2 }).status).toBe(0);
        expect(read("restore-snapshot.db")).toBe("backup");
    });

    test("fetch gives up when no token comes within METADATA_WAIT_SECONDS", () => {
        putBackup("etcd/b.db", "backup");
        const result = run("restore-fetch", { SOURCE_URL: "gs://bucket/etcd/b.db", METADATA_WAIT_SECONDS: "2" }, { tokenRefusals: 1000 });
        expect(result.status).not.toBe(0);
        expect(result.stderr).toContain("no access token from the metadata server within 2s");
        expect(fs.existsSync(paths().DOWNLOAD)).toBe(false);
    });

    test.each([
        ["the backup does not exist", "gs://bucket/etcd/missing.db", "roles/storage.objectViewer", "HTTP 404"],
        ["the identity may not read objects", "gs://bucket/etcd/b.db", "roles/storage.objectCreator", "HTTP 403"],
    ])("fetch fails, leaving no download, when %s", (_, url, role, message) => {
        putBackup("etcd/b.db", "backup");
        const result = run("restore-fetch", { SOURCE_URL: url }, { role });
        expect(result.status).not.toBe(0);
        expect(result.stderr).toContain(message);
        expect(fs.readdirSync(volume)).toEqual([]);
    });

    test("install moves the restored data dir into place where there is none, and drops the download", () => {
        write("restore-staging/member/snap/db", "restored");
        write("restore-snapshot.db");
        expect(run("restore-install").status).toBe(0);
        expect(read("data/member/snap/db")).toBe("restored");
        expect(fs.readdirSync(volume)).toEqual(["data"]);
    });

    test("install replaces an empty data dir", () => {
        fs.mkdirSync(paths().DATA_DIR);
        write("restore-staging/member/snap/db", "restored");
        expect(run("restore-install").status).toBe(0);
        expect(read("data/member/snap/db")).toBe("restored");
    });

    test("install keeps a member's existing data and discards the restored copy", () => {
        write("data/member/snap/db", "live");
        write("restore-staging/member/snap/db", "restored");
        write("restore-snapshot.db");
        const result = run("restore-install");
        expect(result.status).toBe(0);
        expect(result.stdout).toContain("keeping it");
        expect(read("data/member/snap/db")).toBe("live");
        expect(fs.readdirSync(volume)).toEqual(["data"]);
    });
});

describe("in the EtcdCluster", () => {
    const clusterArgs: EtcdClusterArgs = {
        namespace: "etcd",
        name: "apisix-etcd",
        replicas: 3,
        image: base.image,
        antiAffinity: "required",
        zoneSpread: "preferred",
        clusterDomain: "cluster.local",
        storage: { size: "20Gi", className: "apisix-etcd-ssd" },
        resources: {},
        quotaBackendBytes: 2 ** 32,
        autoCompaction: { mode: "periodic", retention: "1h" },
        clientNamespaces: ["apisix"],
        metricsCollectors: [{ namespace: "gmp-system", podLabels: { "app.kubernetes.io/name": "collector" } }],
        protect: true,
        membership: { image: "alpine/k8s:1.34.1" },
    };
    const annotations = { "iam.gke.io/gcp-service-account": "apisix-etcd-restore@apisix-prod.iam.gserviceaccount.com" };
    let resources: RegisteredResource[];
    let claims: readonly string[];

    beforeAll(async () => {
        resources = await declareUnderMocks(() => {
            const restored = new EtcdCluster("restored", {
                ...clusterArgs,
                restore: { source: base.source, revisionBump: base.revisionBump, toolsImage: base.toolsImage, serviceAccountAnnotations: annotations },
            });
            new EtcdCluster("plain", { ...clusterArgs, namespace: "etcd-plain" });
            claims = restored.dataClaimNames;
        });
    });

    const object = (namespace: string, kind: string, name = "apisix-etcd") =>
        resources.find((r) => r.inputs.kind === kind && (r.inputs.metadata as any)?.namespace === namespace && (r.inputs.metadata as any)?.name === name)!.inputs as any;

    test("the members' pods run the restore steps first, with their volumes", () => {
        const pod = object("etcd", "StatefulSet").spec.template.spec;
        // Before the member-join step, which then finds the restored WAL and starts on it.
        expect(pod.initContainers.map((c: any) => c.name)).toEqual(["restore-fetch", "restore", "restore-install", "member-join"]);
        expect(pod.initContainers[1].args).toContain("apisix-etcd-0=http://apisix-etcd-0.apisix-etcd-headless.etcd.svc.cluster.local:2380,apisix-etcd-1=http://apisix-etcd-1.apisix-etcd-headless.etcd.svc.cluster.local:2380,apisix-etcd-2=http://apisix-etcd-2.apisix-etcd-headless.etcd.svc.cluster.local:2380");
    });

    test("the members' ServiceAccount carries the annotations that let them read the backup", () => {
        expect(object("etcd", "ServiceAccount").metadata.annotations).toEqual(annotations);
    });

    test("without a restore, the pod template has only the member-join step and no restore volume, and the ServiceAccount no annotations", () => {
        const pod = object("etcd-plain", "StatefulSet").spec.template.spec;
        expect(pod.initContainers.map((c: any) => c.name)).toEqual(["member-join"]);
        expect(pod.volumes.map((v: any) => v.name).filter((n: string) => n.startsWith("restore"))).toEqual([]);
        expect(object("etcd-plain", "ServiceAccount").metadata.annotations).toBeUndefined();
    });

    test("names the members' claims as the StatefulSet creates them", () => {
        expect(claims).toEqual(["data-apisix-etcd-0", "data-apisix-etcd-1", "data-apisix-etcd-2"]);
    });
});
