import { StackValidationPolicy } from "@pulumi/policy";
import { environmentReport } from "../environment";
import { EtcdSettings, etcdSettings, etcdStatefulSets } from "../etcd-members";

/** The pack config of this policy: `{"etcd-peer-mutual-tls": {"waiverReason": "..."}}`. */
interface PeerTlsConfig {
    waiverReason?: string;
}

/**
 * What keeps the members' peer traffic from being mutual TLS; empty when it is. The initial cluster is
 * judged where it is declared: members whose start keys are added at start take it from the members'
 * registrations, which their advertised peer URLs made.
 */
function peerTlsGaps(settings: EtcdSettings): string[] {
    const urls = ["listen-peer-urls", "initial-advertise-peer-urls", ...(settings.fromFile ? [] : ["initial-cluster"])];
    const gaps = settings.tlsGaps(urls, ["peer-cert-file", "peer-key-file", "peer-trusted-ca-file"]);
    return settings.enabled("peer-client-cert-auth") ? gaps : [...gaps, `${settings.describe("peer-client-cert-auth")} is not true`];
}

/**
 * Members replicate every key to each other over the peer port, and etcd's authentication does not
 * guard it: in plain http anyone on the path reads the whole store, and without client certificates
 * checked, anything that reaches port 2380 is served as if it were a member.
 *
 * Waiver: a documented exception is set in the pack config, never in code, e.g.
 * `--policy-pack-config` with `{"etcd-peer-mutual-tls": {"waiverReason": "<why, until when>"}}`.
 * The policy then does not block; it reports one advisory violation quoting the reason, so that the
 * waiver shows in every preview until it is removed.
 */
export const peerMutualTls: StackValidationPolicy = {
    name: "etcd-peer-mutual-tls",
    description:
        "The etcd members talk to each other only over https with certificates both ways (peer cert, key and trusted CA, peer-client-cert-auth). " +
        "Waivable through the pack config (waiverReason), which turns the violation into one advisory quoting the reason.",
    enforcementLevel: "mandatory",
    configSchema: {
        properties: {
            waiverReason: {
                type: "string",
                minLength: 1,
                description: "Why peer traffic may go without mutual TLS for now, and until when. Set, the policy only advises, quoting it.",
            },
        },
    },
    validateStack: (args, reportViolation) => {
        const { waiverReason } = args.getConfig<PeerTlsConfig>();
        for (const member of etcdStatefulSets(args.resources)) {
            const gaps = peerTlsGaps(etcdSettings(member.props, args.resources));
            if (waiverReason) {
                const state = gaps.length > 0 ? `peer traffic is not mutual TLS (${gaps.join("; ")})` : "peer traffic already uses mutual TLS, so the waiver can go";
                reportViolation({ message: `waived by the policy pack config: "${waiverReason}"; ${state}.`, urn: member.urn, enforcementLevel: "advisory" } as never);
            } else if (gaps.length > 0) {
                environmentReport(member.urn, args.stackTags, reportViolation)(
                    `peer traffic is not mutual TLS: ${gaps.join("; ")}. Set apisix-etcd:tls.mode to "self-signed" or "cert-manager".`,
                    member.urn,
                );
            }
        }
    },
};
