import { StackValidationPolicy } from "@pulumi/policy";
import { environmentReport } from "../environment";
import { etcdSettings, etcdStatefulSets } from "../etcd-members";

/**
 * Once etcd is given a configuration file it reads nothing else: a flag or an ETCD_* variable beside it
 * is silently ignored (etcd logs it once, at info level), so a setting that looks declared never
 * applies. And a file the stack does not declare cannot be judged by any other rule of this pack.
 */
export const settingsInEffect: StackValidationPolicy = {
    name: "etcd-settings-in-effect",
    description:
        "Every setting the etcd members declare is one etcd reads: with a configuration file, nothing beside it (no other flag, no ETCD_* variable), and the file is a ConfigMap of the stack mounted in the member pod.",
    enforcementLevel: "mandatory",
    validateStack: (args, reportViolation) => {
        for (const member of etcdStatefulSets(args.resources)) {
            const settings = etcdSettings(member.props, args.resources);
            const report = environmentReport(member.urn, args.stackTags, reportViolation);
            if (settings.ignored.length > 0) {
                report(`etcd reads its configuration file only, so it ignores ${settings.ignored.join(", ")}; move them into the file.`, member.urn);
            }
            for (const problem of settings.problems) {
                report(`${problem}; declare the file as a ConfigMap of the stack and mount it in the member pod under the same name.`, member.urn);
            }
        }
    },
};
