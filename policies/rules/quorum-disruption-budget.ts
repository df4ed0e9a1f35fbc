import { StackValidationPolicy } from "@pulumi/policy";
import { environmentReport } from "../environment";
import { etcdStatefulSets } from "../etcd-members";
import { PodDisruptionBudget, selects } from "../kubernetes-objects";

/** How many pods a budget keeps available out of `replicas` (percentages round up, as Kubernetes does). */
function keptAvailable(budget: PodDisruptionBudget, replicas: number): number | undefined {
    const count = (value: number | string, roundUp: boolean) => {
        if (typeof value === "number") {
            return value;
        }
        const percent = Number(value.replace(/%$/, ""));
        return (roundUp ? Math.ceil : Math.floor)((percent * replicas) / 100);
    };
    if (budget.spec?.minAvailable !== undefined) {
        return count(budget.spec.minAvailable, true);
    }
    if (budget.spec?.maxUnavailable !== undefined) {
        return replicas - count(budget.spec.maxUnavailable, true);
    }
    return undefined;
}

/** Node drains and upgrades evict pods; without a budget they may evict a majority at once. */
export const quorumDisruptionBudget: StackValidationPolicy = {
    name: "etcd-quorum-disruption-budget",
    description: "A PodDisruptionBudget selects the etcd members and keeps a quorum of them available during voluntary disruptions.",
    enforcementLevel: "mandatory",
    validateStack: (args, reportViolation) => {
        for (const member of etcdStatefulSets(args.resources)) {
            const statefulSet = member.props;
            const replicas = statefulSet.spec?.replicas ?? 1;
            const quorum = Math.floor(replicas / 2) + 1;
            const budgets = args.resources
                .filter((resource) => resource.type === "kubernetes:policy/v1:PodDisruptionBudget")
                .map((resource) => resource.props as PodDisruptionBudget)
                .filter(
                    (budget) =>
                        budget.metadata?.namespace === statefulSet.metadata?.namespace &&
                        selects(budget.spec?.selector, statefulSet.spec?.template?.metadata?.labels),
                );
            const report = environmentReport(member.urn, args.stackTags, reportViolation);
            if (budgets.length === 0) {
                report(`no PodDisruptionBudget selects the members of ${statefulSet.metadata?.name}; add one with minAvailable: ${quorum}.`, member.urn);
            } else if (!budgets.some((budget) => (keptAvailable(budget, replicas) ?? 0) >= quorum)) {
                report(`no PodDisruptionBudget keeps a quorum (${quorum} of ${replicas}) of the members available; set minAvailable: ${quorum}.`, member.urn);
            }
        }
    },
};
