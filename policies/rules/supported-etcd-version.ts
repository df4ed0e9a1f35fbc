import { ResourceValidationPolicy } from "@pulumi/policy";
import { environmentReport } from "../environment";
import { etcdContainer, isEtcdStatefulSet } from "../etcd-members";

/** The oldest etcd whose /readyz fails on a learner (its non_learner check), which the readiness probe relies on. */
export const MINIMUM_VERSION = [3, 5, 19] as const;

/** The version an image's tag names (`v3.5.33`, `3.6.1`, also before a digest), or undefined when it names none. */
export function imageVersion(image: string): [number, number, number] | undefined {
    const name = image.split("@")[0];
    const tag = /:v?(\d+)\.(\d+)\.(\d+)(?:[-+][\w.-]*)?$/.exec(name.split("/").pop() ?? "");
    return tag ? [Number(tag[1]), Number(tag[2]), Number(tag[3])] : undefined;
}

const atLeast = (version: readonly number[], minimum: readonly number[]): boolean => {
    for (let i = 0; i < minimum.length; i++) {
        if (version[i] !== minimum[i]) return version[i] > minimum[i];
    }
    return true;
};

/**
 * An older member passes /readyz (and /health) as a learner: its pod is Ready, the client Service routes
 * APISIX and the membership steps to it, and it refuses them ("rpc not supported for learner").
 */
export const supportedEtcdVersion: ResourceValidationPolicy = {
    name: "etcd-supported-version",
    description: `The etcd members run etcd ${MINIMUM_VERSION.join(".")} or later, whose readiness fails on a learner.`,
    enforcementLevel: "mandatory",
    validateResource: (args, reportViolation) => {
        if (!isEtcdStatefulSet(args.type, args.props)) {
            return;
        }
        const image = etcdContainer(args.props)!.image ?? "";
        const version = imageVersion(image);
        if (version === undefined) {
            // A digest alone (or another tag) names no version: say so, without blocking what cannot be judged.
            reportViolation({
                message: `the etcd image "${image}" names no version in its tag; make sure it is etcd ${MINIMUM_VERSION.join(".")} or later (e.g. v3.5.33@sha256:...).`,
                enforcementLevel: "advisory",
            } as never);
        } else if (!atLeast(version, MINIMUM_VERSION)) {
            environmentReport(args.urn, args.stackTags, reportViolation)(
                `the etcd image "${image}" is etcd ${version.join(".")}: before ${MINIMUM_VERSION.join(".")} its /readyz passes on a learner, so the client Service would route to members that refuse requests; use v3.5.33 or later.`,
            );
        }
    },
};
