/**
 * EtcdCluster under Pulumi's mock runtime: every object it declares, with the fields that make the
 * cluster work (or fail) on GKE, and the resource options (protect) that only the engine sees.
 * The RecordingMonitor of the offline plan records each registration with its options.
 */
import * as pulumi from "@pulumi/pulumi";
import { parse } from "yaml";
import { RecordingMonitor, RegisteredResource } from "../../plan/recording-monitor";
import { PROD_CLUSTER_ARGS } from "../../test/cluster-args";
import { collectorPods } from "../monitoring/collector-objects";
import { EtcdCluster, EtcdClusterArgs, quorum } from "./cluster";

/** The SDK's start-up and shut-down steps that the language host runs (internal, so untyped). */
const sdkSettings: { awaitFeatureSupport(): Promise<void>; waitForRPCs(): Promise<void> } = require("@pulumi/pulumi/runtime/settings");

const monitor = new RecordingMonitor({
    newResource: (args) => ({ id: `${args.name}-id`, state: args.inputs }),
    call: (args) => args.inputs,
});

const base: EtcdClusterArgs = {
    ...PROD_CLUSTER_ARGS,
    clientNamespaces: ["apisix", "gateway-canary"],
    metricsCollectors: collectorPods("gmp"),
    membership: { image: "alpine/k8s:1.34.1", userSecretName: "apisix-etcd-user-membership" },
};

/** The variants declared in one program: component name -> args. */
const variants: Record<string, EtcdClusterArgs> = {
    three: base,
    five: {
        ...base,
        namespace: "etcd-five",
        name: "kv",
        replicas: 5,
        antiAffinity: "preferred",
        zoneSpread: "required",
        clusterDomain: "corp.example",
        storage: { size: "5Gi", className: "standard-rwo" },
        resources: { requests: { cpu: "1" } },
        quotaBackendBytes: 2 ** 31,
        autoCompaction: { mode: "revision", retention: "10000" },
        clientNamespaces: [],
        metricsCollectors: collectorPods("prometheus-operator", "monitoring"),
        protect: false,
        membership: { image: "alpine/k8s:1.34.1" },
    },
    one: { ...base, namespace: "etcd-one", name: "solo", replicas: 1, metricsCollectors: [] },
    // The three members grown to five by config (in a namespace of its own: one program declares both).
    grown: { ...base, namespace: "etcd-grown", replicas: 5 },
    // Member 0 takes over the data of the Bitnami member on its claim (docs/migration.md).
    takeover: { ...base, namespace: "etcd-takeover", takesOverData: true },
};

const clusters: Record<string, EtcdCluster> = {};
const outputs: Record<string, { namespace: string; clientUrl: string; memberClientUrls: string[] }> = {};

function valueOf<T>(output: pulumi.Output<T>): Promise<T> {
    return new Promise((resolve) => output.apply((value) => resolve(value)));
}

beforeAll(async () => {
    pulumi.runtime.setMockOptions(monitor, "apisix-etcd", "test", false);
    await sdkSettings.awaitFeatureSupport();
    for (const [name, args] of Object.entries(variants)) {
        clusters[name] = new EtcdCluster(name, args);
    }
    for (const [name, cluster] of Object.entries(clusters)) {
        outputs[name] = {
            namespace: await valueOf(cluster.namespace),
            clientUrl: await valueOf(cluster.clientUrl),
            memberClientUrls: await valueOf(cluster.memberClientUrls),
        };
    }
    await sdkSettings.waitForRPCs();
});

/** The objects a variant's component registered (its children and theirs). */
function childrenOf(variant: string): RegisteredResource[] {
    const component = monitor.registered.find((r) => r.type === "apisix-etcd:index:EtcdCluster" && r.name === variant);
    if (!component) throw new Error(`no component ${variant}`);
    const below = (urn: string): RegisteredResource[] =>
        monitor.registered.filter((r) => r.parent === urn).flatMap((r) => (r.custom ? [r] : below(r.urn)));
    return below(component.urn);
}
function objectOf(variant: string, kind: string): { resource: RegisteredResource; object: any } {
    const matches = childrenOf(variant).filter((r) => r.inputs.kind === kind);
    if (matches.length !== 1) throw new Error(`${variant}: expected one ${kind}, got ${matches.length}`);
    return { resource: matches[0], object: matches[0].inputs };
}
const servicesOf = (variant: string) => childrenOf(variant).filter((r) => r.inputs.kind === "Service").map((r) => r.inputs as any);
const podOf = (variant: string) => objectOf(variant, "StatefulSet").object.spec.template;
const etcdOf = (variant: string) => podOf(variant).spec.containers.find((c: { name: string }) => c.name === "etcd");
const configMapOf = (variant: string, name: string) => childrenOf(variant).find((r) => r.inputs.kind === "ConfigMap" && (r.inputs as any).metadata.name === name)!;
/** The etcd configuration file the members are declared with. */
const configOf = (variant: string): Record<string, unknown> => parse((configMapOf(variant, `${variants[variant].name}-config`).inputs as any).data["etcd.yaml"]);
const jobOf = (variant: string) => objectOf(variant, "Job").object;
const envValues = (container: { env?: { name: string; value?: string; valueFrom?: unknown }[] }): Record<string, unknown> =>
    Object.fromEntries((container.env ?? []).map((e) => [e.name, e.value ?? e.valueFrom]));

/** Whether a label selector picks pods with `labels`. */
const selects = (matchLabels: Record<string, string>, labels: Record<string, string>) =>
    Object.keys(matchLabels).length > 0 && Object.entries(matchLabels).every(([key, value]) => labels[key] === value);

interface NetworkPolicyPeer {
    namespaceSelector?: { matchLabels: Record<string, string> };
    podSelector?: { matchLabels: Record<string, string> };
}
/**
 * Whether an ingress rule's peers admit a pod with `labels` in `namespace`, as Kubernetes reads them: a peer
 * with both selectors needs both to match; one with only a pod selector means the policy's own namespace.
 */
function admits(from: readonly NetworkPolicyPeer[], policyNamespace: string, namespace: string, labels: Record<string, string>): boolean {
    return from.some(
        (peer) =>
            (peer.namespaceSelector ? selects(peer.namespaceSelector.matchLabels, { "kubernetes.io/metadata.name": namespace }) : namespace === policyNamespace) &&
            (peer.podSelector ? selects(peer.podSelector.matchLabels, labels) : true),
    );
}

describe.each(Object.keys(variants))("EtcdCluster %s", (variant) => {
    const args = () => variants[variant];

    test("declares the Namespace, StatefulSet, PDB, NetworkPolicy, two Services, two ConfigMaps, the scale-down Job and a claim patch per member", () => {
        const kinds = childrenOf(variant).filter((r) => r.type !== "kubernetes:core/v1:PersistentVolumeClaimPatch").map((r) => r.inputs.kind).sort();
        expect(kinds).toEqual(["ConfigMap", "ConfigMap", "Job", "Namespace", "NetworkPolicy", "PodDisruptionBudget", "Service", "Service", "ServiceAccount", "ServiceAccount", "StatefulSet"]);
        const patched = childrenOf(variant).filter((r) => r.type === "kubernetes:core/v1:PersistentVolumeClaimPatch").map((r) => (r.inputs.metadata as any).name);
        expect(patched).toEqual(clusters[variant].dataClaimNames);
        expect(patched).toHaveLength(args().replicas);
    });

    test("every object lives in the cluster's namespace, named after the cluster", () => {
        const { name, namespace } = args();
        expect(objectOf(variant, "Namespace").object.metadata.name).toBe(namespace);
        for (const resource of childrenOf(variant).filter((r) => r.inputs.kind !== "Namespace")) {
            expect(resource.inputs.metadata).toMatchObject({ namespace });
        }
        for (const kind of ["StatefulSet", "PodDisruptionBudget", "NetworkPolicy"]) {
            expect(objectOf(variant, kind).object.metadata.name).toBe(name);
        }
        expect(jobOf(variant).metadata.name).toBe(`${name}-scale-down`);
        expect(servicesOf(variant).map((s) => s.metadata.name).sort()).toEqual([name, `${name}-headless`].sort());
    });

    test("the namespace enforces the restricted Pod Security Standard", () => {
        expect(objectOf(variant, "Namespace").object.metadata.labels["pod-security.kubernetes.io/enforce"]).toBe("restricted");
    });

    test("no Kubernetes API token reaches the members or the scale-down Job: they only talk to etcd", () => {
        const accounts = childrenOf(variant).filter((r) => r.inputs.kind === "ServiceAccount").map((r) => r.inputs as any);
        expect(accounts.map((a) => a.automountServiceAccountToken)).toEqual([false, false]);
        expect(podOf(variant).spec.automountServiceAccountToken).toBe(false);
        expect(accounts.map((a) => a.metadata.name)).toContain(podOf(variant).spec.serviceAccountName);
        expect(childrenOf(variant).filter((r) => /Role/.test(String(r.inputs.kind)))).toEqual([]);
    });

    test("both Services expose client 2379 and peer 2380 to the member pods by named ports", () => {
        const podLabels = podOf(variant).metadata.labels;
        const containerPorts = new Map<string, number>(etcdOf(variant).ports.map((p: { name: string; containerPort: number }) => [p.name, p.containerPort]));
        for (const service of servicesOf(variant)) {
            expect(service.spec.ports.map((p: { port: number }) => p.port).sort()).toEqual([2379, 2380]);
            for (const port of service.spec.ports) {
                // A named targetPort must name a container port with the same number.
                expect(containerPorts.get(port.targetPort)).toBe(port.port);
            }
            expect(selects(service.spec.selector, podLabels)).toBe(true);
        }
    });

    test("the client Service has a cluster IP; the headless one gives each pod a DNS name, ready or not", () => {
        const { name } = args();
        const client = servicesOf(variant).find((s) => s.metadata.name === name);
        const headless = servicesOf(variant).find((s) => s.metadata.name === `${name}-headless`);
        expect(client.spec.clusterIP).toBeUndefined();
        expect(client.spec.type ?? "ClusterIP").toBe("ClusterIP");
        expect(headless.spec.clusterIP).toBe("None");
        expect(headless.spec.publishNotReadyAddresses).toBe(true);
    });

    test("the StatefulSet starts all members at once behind the headless Service", () => {
        const { spec } = objectOf(variant, "StatefulSet").object;
        expect(spec.replicas).toBe(args().replicas);
        expect(spec.podManagementPolicy).toBe("Parallel");
        expect(spec.serviceName).toBe(`${args().name}-headless`);
        expect(selects(spec.selector.matchLabels, spec.template.metadata.labels)).toBe(true);
        expect(spec.template.spec.containers.map((c: { name: string; image: string }) => [c.name, c.image])).toEqual([
            ["etcd", args().image],
            ["membership", args().membership.image],
        ]);
    });

    test("each member gets its own volume from the claim template, kept when the StatefulSet goes", () => {
        const { spec } = objectOf(variant, "StatefulSet").object;
        expect(spec.volumeClaimTemplates).toHaveLength(1);
        const [claim] = spec.volumeClaimTemplates;
        expect(claim.spec).toEqual({
            accessModes: ["ReadWriteOnce"],
            storageClassName: args().storage.className,
            resources: { requests: { storage: args().storage.size } },
        });
        const mount = etcdOf(variant).volumeMounts.find((m: { name: string }) => m.name === claim.metadata.name);
        expect(mount).toBeDefined();
        // etcd's data dir is on that volume, not in the container's filesystem.
        expect(String(configOf(variant)["data-dir"]).startsWith(mount.mountPath + "/")).toBe(true);
        expect(spec.persistentVolumeClaimRetentionPolicy).toEqual({ whenDeleted: "Retain", whenScaled: "Retain" });
    });

    test("anti-affinity keeps members on separate nodes, as required or preferred", () => {
        const podLabels = podOf(variant).metadata.labels;
        const antiAffinity = podOf(variant).spec.affinity.podAntiAffinity;
        if (args().antiAffinity === "required") {
            expect(antiAffinity.preferredDuringSchedulingIgnoredDuringExecution).toBeUndefined();
            expect(antiAffinity.requiredDuringSchedulingIgnoredDuringExecution).toHaveLength(1);
            const [term] = antiAffinity.requiredDuringSchedulingIgnoredDuringExecution;
            expect(term.topologyKey).toBe("kubernetes.io/hostname");
            expect(selects(term.labelSelector.matchLabels, podLabels)).toBe(true);
        } else {
            expect(antiAffinity.requiredDuringSchedulingIgnoredDuringExecution).toBeUndefined();
            expect(antiAffinity.preferredDuringSchedulingIgnoredDuringExecution).toHaveLength(1);
            const [{ weight, podAffinityTerm }] = antiAffinity.preferredDuringSchedulingIgnoredDuringExecution;
            expect(weight).toBe(100);
            expect(podAffinityTerm.topologyKey).toBe("kubernetes.io/hostname");
            expect(selects(podAffinityTerm.labelSelector.matchLabels, podLabels)).toBe(true);
        }
    });

    test("members spread over zones, refusing to schedule unbalanced only when required", () => {
        const [spread] = podOf(variant).spec.topologySpreadConstraints;
        expect(podOf(variant).spec.topologySpreadConstraints).toHaveLength(1);
        expect(spread).toMatchObject({ maxSkew: 1, topologyKey: "topology.kubernetes.io/zone" });
        expect(spread.whenUnsatisfiable).toBe(args().zoneSpread === "required" ? "DoNotSchedule" : "ScheduleAnyway");
        expect(selects(spread.labelSelector.matchLabels, podOf(variant).metadata.labels)).toBe(true);
    });

    test("etcd reads only the declared configuration file, which the member-join step copies for the pod", () => {
        const etcd = etcdOf(variant);
        expect(etcd.env).toBeUndefined();
        expect(etcd.args).toEqual(["--config-file=/etc/etcd/member/etcd.yaml"]);
        const [join] = podOf(variant).spec.initContainers.slice(-1);
        expect(join.name).toBe("member-join");
        const joinEnv = envValues(join);
        expect(joinEnv.CONFIG_FILE).toBe("/etc/etcd/member/etcd.yaml");
        // The template it copies is the ConfigMap the pod mounts, under the file's name.
        const templateMount = join.volumeMounts.find((m: { mountPath: string }) => String(joinEnv.CONFIG_TEMPLATE).startsWith(m.mountPath + "/"));
        const volume = podOf(variant).spec.volumes.find((v: { name: string }) => v.name === templateMount.name);
        expect(volume.configMap).toEqual({ name: `${args().name}-config`, items: [{ key: "etcd.yaml", path: "etcd.yaml" }] });
        // Both see the same in-memory folder; etcd only reads it.
        const folder = (c: any) => c.volumeMounts.find((m: { mountPath: string }) => m.mountPath === "/etc/etcd/member");
        expect(folder(join).name).toBe(folder(etcd).name);
        expect(folder(etcd).readOnly).toBe(true);
    });

    test("every member is known by its stable DNS name; its own name comes from the pod", () => {
        const { name, namespace, clusterDomain } = args();
        const config = configOf(variant);
        expect(config.name).toBe("$(POD_NAME)");
        expect(config["initial-advertise-peer-urls"]).toBe(`http://$(POD_NAME).${name}-headless.${namespace}.svc.${clusterDomain}:2380`);
        expect(config["advertise-client-urls"]).toBe(`http://$(POD_NAME).${name}-headless.${namespace}.svc.${clusterDomain}:2379`);
        const joinEnv = envValues(podOf(variant).spec.initContainers.slice(-1)[0]);
        expect(joinEnv.POD_NAME).toEqual({ fieldRef: { fieldPath: "metadata.name" } });
        expect(joinEnv.PEER_URL).toBe(config["initial-advertise-peer-urls"]);
        expect(joinEnv.FOUNDER).toBe(`${name}-0`);
        expect(joinEnv.ENDPOINT).toBe(outputs[variant].clientUrl);
        // How to start (the initial cluster) is decided at start from the cluster as it is.
        expect(config).not.toHaveProperty("initial-cluster");
    });

    test("a member founds a cluster only while the founded marker is absent: created after the StatefulSet, or before it when member 0 takes over data", () => {
        const marker = configMapOf(variant, `${args().name}-founded`);
        const sts = objectOf(variant, "StatefulSet").resource;
        if (args().takesOverData) {
            expect(sts.options.dependsOn).toContain(marker.urn);
            expect(marker.options.dependsOn).not.toContain(sts.urn);
            // After the scale-down Job: it then finds no founded cluster and changes nothing.
            expect(marker.options.dependsOn).toContainEqual(expect.stringContaining("MemberScaleDown$kubernetes:batch/v1:Job"));
        } else {
            expect(marker.options.dependsOn).toContain(sts.urn);
            expect(sts.options.dependsOn).not.toContain(marker.urn);
        }
        const founded = { configMapKeyRef: { name: `${args().name}-founded`, key: "founded", optional: true } };
        expect(envValues(podOf(variant).spec.initContainers.slice(-1)[0]).FOUNDED).toEqual(founded);
        expect(envValues(jobOf(variant).spec.template.spec.containers[0]).FOUNDED).toEqual(founded);
    });

    test("the scale-down Job removes members beyond replicas before the StatefulSet changes, and a new count replaces it", () => {
        const job = objectOf(variant, "Job");
        const env = envValues(job.object.spec.template.spec.containers[0]);
        expect(env.REPLICAS).toBe(String(args().replicas));
        expect(env.STATEFUL_SET).toBe(args().name);
        expect(objectOf(variant, "StatefulSet").resource.options.dependsOn).toEqual(expect.arrayContaining([expect.stringContaining("MemberScaleDown")]));
        expect(job.resource.options.deleteBeforeReplace).toBe(true);
    });

    test("the membership steps sign in as the membership user when there is one, and never get a Kubernetes API token", () => {
        const steps = [podOf(variant).spec.initContainers.slice(-1)[0], podOf(variant).spec.containers[1], jobOf(variant).spec.template.spec.containers[0]];
        for (const step of steps) {
            const env = envValues(step);
            if (args().membership.userSecretName) {
                expect(env.MEMBERSHIP_PASSWORD).toEqual({ secretKeyRef: { name: args().membership.userSecretName, key: "password" } });
            } else {
                expect(env).not.toHaveProperty("MEMBERSHIP_USER");
            }
            expect(step.volumeMounts.map((m: { mountPath: string }) => m.mountPath)).not.toContain("/var/run/secrets/kubernetes.io/serviceaccount");
        }
    });

    test("etcd settings follow the args", () => {
        const config = configOf(variant);
        expect(config["quota-backend-bytes"]).toBe(args().quotaBackendBytes);
        expect(config["auto-compaction-mode"]).toBe(args().autoCompaction.mode);
        expect(config["auto-compaction-retention"]).toBe(args().autoCompaction.retention);
    });

    test("probes: liveness and startup ask the member alone, readiness asks for a voting member with a leader", () => {
        const container = etcdOf(variant);
        const metricsPort = container.ports.find((p: { name: string }) => p.name === "metrics").containerPort;
        expect(configOf(variant)["listen-metrics-urls"]).toBe(`http://0.0.0.0:${metricsPort}`);
        for (const probe of [container.livenessProbe, container.readinessProbe, container.startupProbe]) expect(probe.httpGet.port).toBe(metricsPort);
        for (const probe of [container.livenessProbe, container.startupProbe]) {
            expect(probe.httpGet.path).toMatch(/^\/health\?/);
            expect(probe.httpGet.path).toContain("serializable=true");
            // A full backend (NOSPACE alarm) must not restart every member at once.
            expect(probe.httpGet.path).toContain("exclude=NOSPACE");
        }
        // /readyz fails on a learner (which refuses clients) and without a leader, not on NOSPACE (measured on 3.5.30).
        expect(container.readinessProbe.httpGet.path).toBe("/readyz");
        // Start-up may replay a large WAL: at least five minutes before the kubelet gives up.
        expect(container.startupProbe.periodSeconds * container.startupProbe.failureThreshold).toBeGreaterThanOrEqual(300);
    });

    test("resources are the args' requests and limits", () => {
        expect(etcdOf(variant).resources).toEqual(args().resources);
    });

    test("pod and container run as non-root with nothing writable but the volume", () => {
        const pod = podOf(variant).spec;
        expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } });
        expect(pod.securityContext.runAsUser).toBeGreaterThan(0);
        expect(pod.securityContext.fsGroup).toBe(pod.securityContext.runAsGroup); // the volume is writable by the group it runs as
        expect(etcdOf(variant).securityContext).toEqual({
            allowPrivilegeEscalation: false,
            readOnlyRootFilesystem: true,
            runAsNonRoot: true,
            capabilities: { drop: ["ALL"] },
        });
        // Longer than Kubernetes' default 30 s, so that a leader can hand over before it is killed.
        expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(30);
    });

    test("the PodDisruptionBudget keeps a quorum of members up", () => {
        const { spec } = objectOf(variant, "PodDisruptionBudget").object;
        const expected: Record<number, number> = { 1: 1, 3: 2, 5: 3 };
        expect(spec.minAvailable).toBe(expected[args().replicas]);
        expect(spec.maxUnavailable).toBeUndefined();
        expect(selects(spec.selector.matchLabels, podOf(variant).metadata.labels)).toBe(true);
        expect(spec.unhealthyPodEvictionPolicy).toBe("AlwaysAllow");
    });

    test("the NetworkPolicy admits clients, peers and the metrics collector, each on its own port", () => {
        const { spec } = objectOf(variant, "NetworkPolicy").object;
        const podLabels = podOf(variant).metadata.labels;
        expect(selects(spec.podSelector.matchLabels, podLabels)).toBe(true);
        expect(spec.policyTypes).toEqual(["Ingress"]);
        const rulesFor = (port: number) => spec.ingress.filter((rule: { ports: { port: number; protocol: string }[] }) => rule.ports.some((p) => p.port === port));
        for (const rule of spec.ingress) {
            expect(rule.ports).toHaveLength(1);
            expect(rule.ports[0].protocol).toBe("TCP");
        }
        expect(spec.ingress).toHaveLength(args().metricsCollectors.length === 0 ? 2 : 3);

        const [client] = rulesFor(2379);
        const clientNamespaces = client.from.filter((f: any) => f.namespaceSelector).map((f: any) => f.namespaceSelector.matchLabels["kubernetes.io/metadata.name"]);
        expect(clientNamespaces).toEqual(args().clientNamespaces);
        // Pods of this stack (backup jobs ...) in the cluster's own namespace reach the client port too.
        const ownPods = client.from.filter((f: any) => f.podSelector);
        expect(ownPods).toHaveLength(1);
        expect(selects(ownPods[0].podSelector.matchLabels, podLabels)).toBe(true);
        expect(ownPods[0].namespaceSelector).toBeUndefined();

        const [peer] = rulesFor(2380);
        expect(peer.from).toHaveLength(1);
        expect(peer.from[0].namespaceSelector).toBeUndefined();
        expect(selects(peer.from[0].podSelector.matchLabels, podLabels)).toBe(true);
        // Only members: the selector needs the member-only name label.
        expect(selects(peer.from[0].podSelector.matchLabels, { ...podLabels, "app.kubernetes.io/name": "backup" })).toBe(false);

        // Without collectors the metrics port has no rule at all: a rule without peers would admit every pod.
        expect(rulesFor(2381)).toHaveLength(args().metricsCollectors.length === 0 ? 0 : 1);
    });

    test("the metrics port admits the collectors' pods and no other", () => {
        const metrics = objectOf(variant, "NetworkPolicy").object.spec.ingress.filter((rule: any) => rule.ports[0].port === 2381);
        const from: NetworkPolicyPeer[] = metrics[0]?.from ?? [];
        const reaches = (namespace: string, labels: Record<string, string>) => admits(from, args().namespace, namespace, labels);
        const collector = { "app.kubernetes.io/name": "collector", app: "managed-prometheus-collector" };
        if (variant === "three" || variant === "grown" || variant === "takeover") {
            // GKE's managed collection: its collector DaemonSet on Standard and on Autopilot, nothing else there.
            expect(reaches("gmp-system", collector)).toBe(true);
            expect(reaches("gke-gmp-system", collector)).toBe(true);
            expect(reaches("gke-gmp-system", { "app.kubernetes.io/name": "rule-evaluator" })).toBe(false);
            expect(reaches("gmp-system", { "app.kubernetes.io/name": "alertmanager" })).toBe(false);
            expect(reaches("apisix", collector)).toBe(false);
            expect(reaches(args().namespace, collector)).toBe(false);
        } else if (variant === "five") {
            expect(reaches("monitoring", { "app.kubernetes.io/name": "prometheus" })).toBe(true);
            expect(reaches("gmp-system", collector)).toBe(false);
        } else {
            expect(reaches("gmp-system", collector)).toBe(false);
            expect(reaches(args().namespace, podOf(variant).metadata.labels)).toBe(false);
        }
    });

    test("protect guards the namespace, the StatefulSet and the founded marker, and nothing else", () => {
        const protectedKinds = childrenOf(variant)
            .filter((r) => r.options.protect)
            .map((r) => r.inputs.kind)
            .sort();
        expect(protectedKinds).toEqual(args().protect ? ["ConfigMap", "Namespace", "StatefulSet"] : []);
    });

    test("outputs: the namespace and the client URLs", () => {
        const { name, namespace, clusterDomain, replicas } = args();
        expect(outputs[variant].namespace).toBe(namespace);
        expect(outputs[variant].clientUrl).toBe(`http://${name}.${namespace}.svc.${clusterDomain}:2379`);
        expect(outputs[variant].memberClientUrls).toEqual(
            Array.from({ length: replicas }, (_, i) => `http://${name}-${i}.${name}-headless.${namespace}.svc.${clusterDomain}:2379`),
        );
        expect(clusters[variant].memberLabels).toEqual(expect.objectContaining(clusters[variant].instanceLabels));
    });
});

describe("changing replicas", () => {
    test("changes the StatefulSet's count and the scale-down Job, never the pod template: no member restarts", () => {
        // The same cluster but for its namespace's name.
        const asThree = (value: unknown) => JSON.parse(JSON.stringify(value).replaceAll("etcd-grown", "etcd"));
        const [three, five] = ["three", "grown"].map((variant) => objectOf(variant, "StatefulSet").object.spec);
        expect(asThree(five.template)).toEqual(three.template);
        expect(asThree({ ...five, replicas: 3 })).toEqual(three);
        expect(asThree(configOf("grown"))).toEqual(configOf("three"));
        expect(jobOf("grown").spec.template).not.toEqual(jobOf("three").spec.template);
    });
});

describe("quorum", () => {
    test.each([
        [1, 1],
        [2, 2],
        [3, 2],
        [4, 3],
        [5, 3],
        [7, 4],
        [9, 5],
    ])("%i members need %i", (replicas, needed) => {
        expect(quorum(replicas)).toBe(needed);
    });
});

describe("EtcdCluster refuses", () => {
    test.each([0, -1, 2.5, NaN])("replicas %p", (replicas) => {
        expect(() => new EtcdCluster(`bad-${String(replicas)}`, { ...base, namespace: `bad-${String(replicas)}`, replicas })).toThrow(
            /replicas must be a positive integer/,
        );
    });
});
