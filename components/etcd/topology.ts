/**
 * Where the members of one etcd cluster live: their names, DNS names and URLs. Every other part of
 * the stack (the StatefulSet, the Services, later the backup and restore jobs) derives its addresses
 * from here, so a member's identity has a single definition.
 */

/** etcd's conventional ports; the metrics port carries /metrics and the health endpoints, in plain HTTP. */
export const CLIENT_PORT = 2379;
export const PEER_PORT = 2380;
export const METRICS_PORT = 2381;

export interface ClusterTopologyArgs {
    /** StatefulSet name; the members are `<name>-0` ... `<name>-<replicas-1>`. */
    readonly name: string;
    readonly namespace: string;
    readonly replicas: number;
    /** Kubernetes cluster DNS domain, usually `cluster.local`. */
    readonly clusterDomain: string;
    /** Whether members talk to each other over TLS (https peer URLs). */
    readonly peerTls: boolean;
    /** Whether clients reach the members over TLS (https client URLs). */
    readonly clientTls: boolean;
}

export class ClusterTopology {
    constructor(private readonly args: ClusterTopologyArgs) {}

    /** The headless Service that gives each member a stable DNS name. */
    get headlessServiceName(): string {
        return `${this.args.name}-headless`;
    }

    /** The ClusterIP Service that clients (APISIX) use. */
    get clientServiceName(): string {
        return this.args.name;
    }

    private get clientScheme(): string {
        return this.args.clientTls ? "https" : "http";
    }

    /** The client Service's DNS name: `apisix-etcd.etcd.svc.cluster.local`. */
    get clientServiceHost(): string {
        return `${this.clientServiceName}.${this.args.namespace}.svc.${this.args.clusterDomain}`;
    }

    /** The address clients use: `http(s)://apisix-etcd.etcd.svc.cluster.local:2379`. */
    get clientUrl(): string {
        return `${this.clientScheme}://${this.clientServiceHost}:${CLIENT_PORT}`;
    }

    /**
     * Every name a client or a peer may reach a member by, for the members' certificate: each
     * member's pod DNS name (and a wildcard for members added later), both Services in short and
     * full forms.
     */
    get certificateDnsNames(): string[] {
        const withinCluster = (service: string) => [
            service,
            `${service}.${this.args.namespace}`,
            `${service}.${this.args.namespace}.svc`,
            `${service}.${this.args.namespace}.svc.${this.args.clusterDomain}`,
        ];
        return [
            ...this.memberNames.map((member) => this.memberHost(member)),
            `*.${this.headlessServiceName}.${this.args.namespace}.svc.${this.args.clusterDomain}`,
            ...withinCluster(this.clientServiceName),
            ...withinCluster(this.headlessServiceName),
        ];
    }

    get memberNames(): string[] {
        return Array.from({ length: this.args.replicas }, (_, ordinal) => this.memberName(ordinal));
    }

    /** The member (and pod) of an ordinal: `<StatefulSet>-<ordinal>`. */
    memberName(ordinal: number): string {
        return `${this.args.name}-${ordinal}`;
    }

    /** A member's stable DNS name through the headless Service. */
    memberHost(member: string): string {
        return `${member}.${this.headlessServiceName}.${this.args.namespace}.svc.${this.args.clusterDomain}`;
    }

    peerUrl(member: string): string {
        return `${this.args.peerTls ? "https" : "http"}://${this.memberHost(member)}:${PEER_PORT}`;
    }

    clientUrlOf(member: string): string {
        return `${this.clientScheme}://${this.memberHost(member)}:${CLIENT_PORT}`;
    }

    /** etcd's `--initial-cluster`: every member's name and peer URL. */
    get initialCluster(): string {
        return this.memberNames.map((member) => `${member}=${this.peerUrl(member)}`).join(",");
    }

    /** Every member's client URL, for tools that must reach each member (defragmentation, status). */
    get memberClientUrls(): string[] {
        return this.memberNames.map((member) => this.clientUrlOf(member));
    }
}
