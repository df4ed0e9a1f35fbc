import { ResourceValidationPolicy } from "@pulumi/policy";
import { environmentReport } from "../environment";
import { isEtcdStatefulSet } from "../etcd-members";
import { podContainers } from "../kubernetes-objects";

/** Whether an image names one build: by digest, or by a tag other than `latest`. */
export function isPinned(image: string): boolean {
    const [name, digest] = image.split("@");
    if (digest !== undefined) {
        return /^sha256:[a-f0-9]{64}$/.test(digest);
    }
    const tag = /:([\w][\w.-]{0,127})$/.exec(name.split("/").pop() ?? "")?.[1];
    return tag !== undefined && tag !== "latest";
}

/** An unpinned image changes under a restart: members of one cluster could run different versions. */
export const pinnedImages: ResourceValidationPolicy = {
    name: "etcd-pinned-images",
    description: "Every container of the etcd members runs an image pinned by a version tag (not latest) or a digest.",
    enforcementLevel: "mandatory",
    validateResource: (args, reportViolation) => {
        if (!isEtcdStatefulSet(args.type, args.props)) {
            return;
        }
        for (const container of podContainers(args.props.spec?.template?.spec)) {
            if (!isPinned(container.image ?? "")) {
                environmentReport(args.urn, args.stackTags, reportViolation)(
                    `container "${container.name}" runs image "${container.image}", which is not pinned; use a version tag such as v3.5.33 or an @sha256 digest.`,
                );
            }
        }
    },
};
