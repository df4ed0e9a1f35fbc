export * from "./etcd/cluster";
