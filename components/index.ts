export * from "./etcd/cluster";
export * from "./etcd/restore-init";
export * from "./storage/member-storage-class";
export * from "./storage/pd-volume-snapshot-class";
export * from "./storage/scheduled-volume-snapshots";
export * from "./backup/backup-bucket";
export * from "./backup/backup-cron-job";
export * from "./backup/bucket-workload-identity";
