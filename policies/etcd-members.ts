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

/**
 * The value of an etcd setting as the container gives it: `--flag=value` or `--flag value` on the
 * command line, or the `ETCD_FLAG` environment variable that etcd reads for every flag.
 */
export function etcdSetting(container: Container, flag: string): string | undefined {
    const words = [...(container.command ?? []), ...(container.args ?? [])];
    for (const [index, word] of words.entries()) {
        if (word.startsWith(`--${flag}=`)) {
            return word.slice(flag.length + 3);
        }
        if (word === `--${flag}`) {
            return words[index + 1];
        }
    }
    const variable = "ETCD_" + flag.toUpperCase().replace(/-/g, "_");
    return container.env?.find((env) => env.name === variable)?.value;
}

/** The etcd StatefulSets among a stack's resources, with their props typed. */
export function etcdStatefulSets<R extends { type: string; props: unknown }>(resources: readonly R[]): (R & { props: StatefulSet })[] {
    return resources.filter((resource): resource is R & { props: StatefulSet } => isEtcdStatefulSet(resource.type, resource.props));
}
