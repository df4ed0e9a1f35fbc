import * as pulumi from "@pulumi/pulumi";
import { EtcdCluster } from "./components";
import { loadStackConfig } from "./stacks/load";

/**
 * The APISIX etcd stack. Reads the stack's configuration once, then builds the components from it.
 * The names below are the ones APISIX and today's deployment use: `http://apisix-etcd.etcd.svc...`.
 */
const config = loadStackConfig(pulumi.runtime.allConfig());

const cluster = new EtcdCluster("apisix-etcd", {
    namespace: "etcd",
    name: "apisix-etcd",
    replicas: config.replicas,
    image: config.image,
    antiAffinity: config.antiAffinity,
    zoneSpread: config.zoneSpread,
    clusterDomain: config.clusterDomain,
    storage: config.storage,
    resources: config.resources,
    quotaBackendBytes: config.quotaBackendBytes,
    autoCompaction: config.autoCompaction,
    clientNamespaces: config.clientNamespaces,
    monitoringNamespace: config.monitoringNamespace,
    protect: config.protect,
});

export const namespace = cluster.namespace;
export const clientUrl = cluster.clientUrl;
export const memberClientUrls = cluster.memberClientUrls;
