import { CLIENT_PORT, ClusterTopology, METRICS_PORT, PEER_PORT } from "./topology";

describe("ClusterTopology", () => {
    const topology = new ClusterTopology({ name: "kv", namespace: "store", replicas: 3, clusterDomain: "cluster.local", peerTls: false, clientTls: false });

    test("etcd's conventional ports, all distinct", () => {
        expect([CLIENT_PORT, PEER_PORT, METRICS_PORT]).toEqual([2379, 2380, 2381]);
    });

    test("members are the StatefulSet's pods, ordinal 0 to replicas-1", () => {
        expect(topology.memberNames).toEqual(["kv-0", "kv-1", "kv-2"]);
        expect(new ClusterTopology({ name: "kv", namespace: "store", replicas: 1, clusterDomain: "x", peerTls: false, clientTls: false }).memberNames).toEqual(["kv-0"]);
    });

    test("each member's DNS name is the one the headless Service gives its pod", () => {
        expect(topology.headlessServiceName).toBe("kv-headless");
        expect(topology.memberHost("kv-1")).toBe("kv-1.kv-headless.store.svc.cluster.local");
        expect(topology.peerUrl("kv-1")).toBe("http://kv-1.kv-headless.store.svc.cluster.local:2380");
        expect(topology.clientUrlOf("kv-2")).toBe("http://kv-2.kv-headless.store.svc.cluster.local:2379");
    });

    test("clients use the ClusterIP Service named like the StatefulSet", () => {
        expect(topology.clientServiceName).toBe("kv");
        expect(topology.clientUrl).toBe("http://kv.store.svc.cluster.local:2379");
    });

    test("the initial cluster lists every member once, with its peer URL, in ordinal order", () => {
        const five = new ClusterTopology({ name: "kv", namespace: "store", replicas: 5, clusterDomain: "corp.example", peerTls: false, clientTls: false });
        const entries = five.initialCluster.split(",");
        expect(entries).toHaveLength(5);
        entries.forEach((entry, ordinal) => {
            expect(entry).toBe(`kv-${ordinal}=http://kv-${ordinal}.kv-headless.store.svc.corp.example:2380`);
        });
        expect(five.memberClientUrls).toEqual(five.memberNames.map((m) => `http://${m}.kv-headless.store.svc.corp.example:2379`));
    });

    test("TLS changes the schemes: peers and clients independently", () => {
        const peersOnly = new ClusterTopology({ name: "kv", namespace: "store", replicas: 3, clusterDomain: "cluster.local", peerTls: true, clientTls: false });
        expect(peersOnly.initialCluster).toContain("kv-0=https://kv-0.kv-headless.store.svc.cluster.local:2380");
        expect(peersOnly.clientUrl).toBe("http://kv.store.svc.cluster.local:2379");
        const both = new ClusterTopology({ name: "kv", namespace: "store", replicas: 3, clusterDomain: "cluster.local", peerTls: true, clientTls: true });
        expect(both.clientUrl).toBe("https://kv.store.svc.cluster.local:2379");
        expect(both.memberClientUrls[2]).toBe("https://kv-2.kv-headless.store.svc.cluster.local:2379");
    });

    test("the certificate names cover every member, both Services in every form a client may use, and later members", () => {
        const names = topology.certificateDnsNames;
        for (const member of topology.memberNames) expect(names).toContain(topology.memberHost(member));
        for (const service of ["kv", "kv-headless"]) {
            expect(names).toEqual(expect.arrayContaining([service, `${service}.store`, `${service}.store.svc`, `${service}.store.svc.cluster.local`]));
        }
        expect(names).toContain("*.kv-headless.store.svc.cluster.local");
        expect(new Set(names).size).toBe(names.length);
    });
});
