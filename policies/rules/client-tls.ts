import { StackValidationPolicy } from "@pulumi/policy";
import { etcdSettings, etcdStatefulSets } from "../etcd-members";

/**
 * Over plain http the users' passwords (sent to get a token), the tokens and every key APISIX reads
 * cross the network readable. Advice only: APISIX has to be given https endpoints and the CA first.
 */
export const clientTls: StackValidationPolicy = {
    name: "etcd-client-tls",
    description: "The etcd members serve clients only over https (listen and advertise client URLs, cert and key).",
    enforcementLevel: "advisory",
    validateStack: (args, reportViolation) => {
        for (const member of etcdStatefulSets(args.resources)) {
            const gaps = etcdSettings(member.props, args.resources).tlsGaps(["listen-client-urls", "advertise-client-urls"], ["cert-file", "key-file"]);
            if (gaps.length > 0) {
                reportViolation(
                    `clients reach the members without TLS: ${gaps.join("; ")}. Set apisix-etcd:tls.clientTls: true (APISIX then needs the https:// endpoints and the CA).`,
                    member.urn,
                );
            }
        }
    },
};
