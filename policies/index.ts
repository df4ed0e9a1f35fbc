import { PolicyPack } from "@pulumi/policy";
import { quorumReplicas } from "./rules/quorum-replicas";

/** The pack `pulumi preview --policy-pack policies` loads; each rule lives in its own module. */
new PolicyPack("apisix-etcd", {
    policies: [quorumReplicas],
});
