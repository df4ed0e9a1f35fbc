import * as path from "node:path";
import { parse } from "yaml";
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
 * The value of an etcd setting as the container's command line or environment gives it: `--flag=value`
 * or `--flag value`, or the `ETCD_FLAG` variable that etcd reads for every flag.
 */
function commandLineSetting(container: Container, flag: string): string | undefined {
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

/** A stack resource as the pack receives it. */
interface StackResource {
    readonly type: string;
    readonly props: unknown;
}

/** The sections of etcd's configuration file that hold TLS flags, under the flag's name without this prefix. */
const TLS_SECTION_PREFIXES: Readonly<Record<string, string>> = { "peer-transport-security": "peer-", "client-transport-security": "" };

/**
 * Each setting of etcd's configuration file (YAML, parsed) under the name of the flag it stands for: a
 * key is its flag's name, a TLS section's keys are flags with the section's prefix (`peer-cert-file`).
 */
export function fileFlagValues(file: Record<string, unknown>): [flag: string, value: unknown][] {
    return Object.entries(file).flatMap(([key, value]): [string, unknown][] =>
        key in TLS_SECTION_PREFIXES ? Object.entries(value as Record<string, unknown>).map(([inner, v]) => [TLS_SECTION_PREFIXES[key] + inner, v]) : [[key, value]],
    );
}

/** A flag's value in etcd's configuration file, as a flag's text. */
function fileSetting(file: Record<string, unknown>, flag: string): string | undefined {
    const value = fileFlagValues(file).find(([name]) => name === flag)?.[1];
    if (value === undefined || value === null) return undefined;
    return Array.isArray(value) ? value.join(",") : String(value);
}

/**
 * The settings the etcd container of a StatefulSet gives etcd, wherever it gives them. With a
 * configuration file (`--config-file`, `ETCD_CONFIG_FILE`) etcd reads only the file, so that is what
 * counts: the file as the pod declares it, a ConfigMap of the stack mounted in the pod under the file's
 * name (a step before etcd may add the member's start keys to its copy). Without one, the command line
 * and the ETCD_* variables.
 */
export class EtcdSettings {
    /** Why the settings cannot be read as etcd will (each makes every setting count as unset). */
    readonly problems: string[] = [];
    /** Flags and ETCD_* variables beside a configuration file: etcd ignores them. */
    readonly ignored: string[] = [];
    private readonly file?: Record<string, unknown>;

    constructor(
        private readonly container: Container,
        statefulSet: StatefulSet,
        resources: readonly StackResource[],
    ) {
        const configFile = commandLineSetting(container, "config-file");
        if (configFile === undefined) return;
        this.ignored = [
            ...commandWords(container).filter((word) => word.startsWith("--") && !word.startsWith("--config-file")),
            ...(container.env ?? []).map((env) => env.name).filter((name) => name.startsWith("ETCD_") && name !== "ETCD_CONFIG_FILE"),
        ];
        const fileName = path.posix.basename(configFile);
        const declared = (statefulSet.spec?.template?.spec?.volumes ?? []).flatMap((volume) => {
            if (!volume.configMap?.name) return [];
            const items = volume.configMap.items;
            const key = items ? items.find((item) => path.posix.basename(item.path) === fileName)?.key : fileName;
            return key === undefined ? [] : [{ configMap: volume.configMap.name, key }];
        });
        if (declared.length !== 1) {
            this.problems.push(`etcd reads ${configFile}, and the pod mounts ${declared.length === 0 ? "no" : "more than one"} ConfigMap file named ${fileName}`);
            return;
        }
        const namespace = statefulSet.metadata?.namespace;
        const configMap = resources.find((resource) => {
            const metadata = (resource.props as { metadata?: { name?: string; namespace?: string } }).metadata;
            return resource.type === "kubernetes:core/v1:ConfigMap" && metadata?.name === declared[0].configMap && metadata?.namespace === namespace;
        });
        const text = (configMap?.props as { data?: Record<string, string> } | undefined)?.data?.[declared[0].key];
        if (typeof text !== "string") {
            this.problems.push(`etcd reads ${configFile}, from ConfigMap ${declared[0].configMap} (key ${declared[0].key}), which the stack does not declare with that key`);
            return;
        }
        try {
            const parsed: unknown = parse(text);
            if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new Error("not a mapping of settings");
            this.file = parsed as Record<string, unknown>;
        } catch (err) {
            this.problems.push(`etcd reads ${configFile}, and ConfigMap ${declared[0].configMap} (key ${declared[0].key}) is not a YAML mapping: ${(err as Error).message}`);
        }
    }

    /** Whether etcd reads a configuration file. */
    get fromFile(): boolean {
        return this.file !== undefined || this.problems.length > 0;
    }

    /** How a flag is given, for messages: `--flag` on the command line and in the environment, the key in a file. */
    describe(flag: string): string {
        return this.fromFile ? `${flag} (in the configuration file)` : `--${flag}`;
    }

    get(flag: string): string | undefined {
        if (this.fromFile) return this.file && fileSetting(this.file, flag);
        return commandLineSetting(this.container, flag);
    }

    /**
     * Whether a boolean etcd setting is on. A bare `--flag` turns it on: Go's flag package never takes
     * the next word as a boolean's value.
     */
    enabled(flag: string): boolean {
        if (!this.fromFile && commandWords(this.container).includes(`--${flag}`)) {
            return true;
        }
        return /^(1|t|T|true|TRUE|True)$/.test(this.get(flag) ?? "");
    }

    /** Whether every URL of a setting is https: a comma-separated list, or `--initial-cluster`'s `name=url` pairs. */
    private listsHttpsOnly(value: string): boolean {
        return value.split(",").every((entry) => /^([^=]*=)?https:\/\//.test(entry.trim()));
    }

    /**
     * What keeps a listener of the members from serving TLS: each of `urlFlags` that is not all https
     * (unset counts, as etcd's defaults are http://localhost URLs), each of `fileFlags` that is unset.
     */
    tlsGaps(urlFlags: readonly string[], fileFlags: readonly string[]): string[] {
        const plainUrls = urlFlags.flatMap((flag) => {
            const value = this.get(flag);
            return value && this.listsHttpsOnly(value) ? [] : [`${this.describe(flag)} is ${value ? JSON.stringify(value) : "unset"}, not all https://`];
        });
        const missingFiles = fileFlags.filter((flag) => !this.get(flag)).map((flag) => `${this.describe(flag)} is not set`);
        return [...this.problems, ...plainUrls, ...missingFiles];
    }
}

/** The settings of the etcd StatefulSet `statefulSet` among the stack's `resources`. */
export function etcdSettings(statefulSet: StatefulSet, resources: readonly StackResource[]): EtcdSettings {
    return new EtcdSettings(etcdContainer(statefulSet)!, statefulSet, resources);
}

/** The etcd StatefulSets among a stack's resources, with their props typed. */
export function etcdStatefulSets<R extends { type: string; props: unknown }>(resources: readonly R[]): (R & { props: StatefulSet })[] {
    return resources.filter((resource): resource is R & { props: StatefulSet } => isEtcdStatefulSet(resource.type, resource.props));
}
