import { Container, StatefulSet } from "./kubernetes-objects";

/** The StatefulSet type token, as resources arrive at the pack. */
export const STATEFUL_SET = "kubernetes:apps/v1:StatefulSet";

/** Whether a container runs an etcd server: by the image's repository name or by its command. */
function runsEtcd(container: Container): boolean {
    const repository = (container.image ?? "").split("@")[0].replace(/:[^/]*$/, "");
    const command = (container.command ?? []).join(" ");
    return /(^|\/)etcd$/.test(repository) || /(^|\/)etcd(\s|$)/.test(command);
}

/** The etcd server container of a StatefulSet, or undefined when it runs no etcd. */
export function etcdContainer(statefulSet: StatefulSet): Container | undefined {
    return (statefulSet.spec?.template?.spec?.containers ?? []).find(runsEtcd);
}

/** The policies judge StatefulSets that run etcd members, whatever they are named. */
export function isEtcdStatefulSet(type: string, props: unknown): props is StatefulSet {
    return type === STATEFUL_SET && etcdContainer(props as StatefulSet) !== undefined;
}
