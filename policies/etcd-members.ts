import { commandWords, Container, StatefulSet } from "./kubernetes-objects";

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
    const words = commandWords(container);
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

/**
 * Whether a boolean etcd setting is on. A bare `--flag` turns it on: Go's flag package never takes
 * the next word as a boolean's value.
 */
export function etcdEnabled(container: Container, flag: string): boolean {
    if (commandWords(container).includes(`--${flag}`)) {
        return true;
    }
    return /^(1|t|T|true|TRUE|True)$/.test(etcdSetting(container, flag) ?? "");
}

/** Whether every URL of a setting is https: a comma-separated list, or `--initial-cluster`'s `name=url` pairs. */
function listsHttpsOnly(value: string): boolean {
    return value.split(",").every((entry) => /^([^=]*=)?https:\/\//.test(entry.trim()));
}

/**
 * What keeps a listener of the members from serving TLS: each of `urlFlags` that is not all https
 * (unset counts, as etcd's defaults are http://localhost URLs), each of `fileFlags` that is unset.
 */
export function tlsGaps(container: Container, urlFlags: readonly string[], fileFlags: readonly string[]): string[] {
    const plainUrls = urlFlags.flatMap((flag) => {
        const value = etcdSetting(container, flag);
        return value && listsHttpsOnly(value) ? [] : [`--${flag} is ${value ? JSON.stringify(value) : "unset"}, not all https://`];
    });
    const missingFiles = fileFlags.filter((flag) => !etcdSetting(container, flag)).map((flag) => `--${flag} is not set`);
    return [...plainUrls, ...missingFiles];
}
