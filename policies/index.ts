import { PolicyPack } from "@pulumi/policy";
import { alertsNotify } from "./rules/alerts-notify";
import { backupBucket } from "./rules/backup-bucket";
import { clientTls } from "./rules/client-tls";
import { headlessPeerDiscovery } from "./rules/headless-peer-discovery";
import { memberAntiAffinity } from "./rules/member-anti-affinity";
import { memberAuthentication } from "./rules/member-authentication";
import { memberDataOnVolumeClaims } from "./rules/member-data-on-volume-claims";
import { memberMemoryHeadroom } from "./rules/member-memory-headroom";
import { memberResources } from "./rules/member-resources";
import { noPlainCredentials } from "./rules/no-plain-credentials";
import { parallelMemberStart } from "./rules/parallel-member-start";
import { peerMutualTls } from "./rules/peer-mutual-tls";
import { pinnedImages } from "./rules/pinned-images";
import { protectedMembers } from "./rules/protected-members";
import { quorumDisruptionBudget } from "./rules/quorum-disruption-budget";
import { quorumReplicas } from "./rules/quorum-replicas";
import { quotaAndCompaction } from "./rules/quota-and-compaction";
import { restrictedContainer } from "./rules/restricted-container";
import { retainedVolumeSnapshots } from "./rules/retained-volume-snapshots";
import { scheduledBackup } from "./rules/scheduled-backup";
import { settingsInEffect } from "./rules/settings-in-effect";
import { supportedEtcdVersion } from "./rules/supported-etcd-version";
import { zoneSpread } from "./rules/zone-spread";

/**
 * The pack `pulumi preview --policy-pack policies` loads. Each rule lives in its own module under
 * rules/; this file only assembles them. The production rules are mandatory in production stacks
 * (see environment.ts) and advisory elsewhere; enforcement levels can be changed per policy with
 * `--policy-pack-config`, which also carries the waiver of etcd-peer-mutual-tls (rules/peer-mutual-tls.ts).
 */
new PolicyPack("apisix-etcd", {
    policies: [
        quorumReplicas,
        memberAntiAffinity,
        memberDataOnVolumeClaims,
        parallelMemberStart,
        headlessPeerDiscovery,
        quorumDisruptionBudget,
        retainedVolumeSnapshots,
        scheduledBackup,
        backupBucket,
        pinnedImages,
        supportedEtcdVersion,
        memberResources,
        memberMemoryHeadroom,
        protectedMembers,
        memberAuthentication,
        peerMutualTls,
        noPlainCredentials,
        zoneSpread,
        quotaAndCompaction,
        restrictedContainer,
        clientTls,
        alertsNotify,
        settingsInEffect,
    ],
});
