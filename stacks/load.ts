import { z } from "zod";
import { StackConfig, stackConfigSchema } from "./schema";

/** The config namespace of this project: keys are written `apisix-etcd:<key>`. */
export const CONFIG_NAMESPACE = "apisix-etcd";

/** One thing wrong with the stack's configuration. */
export interface ConfigProblem {
    /** The full key, e.g. `apisix-etcd:storage.size`. */
    readonly key: string;
    /** What was expected, and what was found. */
    readonly message: string;
}

/** Every problem of a stack's configuration, reported together so that one run shows them all. */
export class StackConfigError extends Error {
    constructor(readonly problems: readonly ConfigProblem[]) {
        super(
            `invalid stack configuration (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n` +
                problems.map((p) => `  ${p.key}: ${p.message}`).join("\n"),
        );
        this.name = "StackConfigError";
    }
}

/**
 * Pulumi hands configuration over as strings; structured values and numbers arrive as JSON text.
 * Anything that is not JSON is a plain string (an image reference, a quantity such as "4Gi").
 */
function decodeValue(text: string): unknown {
    try {
        return JSON.parse(text);
    } catch {
        return text;
    }
}

function editDistance(a: string, b: string): number {
    let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
    for (let i = 1; i <= a.length; i++) {
        const current = [i];
        for (let j = 1; j <= b.length; j++) {
            current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
        }
        previous = current;
    }
    return previous[b.length];
}

/** The key the user most likely meant, for a misspelled one. */
function suggestion(unknown: string, known: readonly string[]): string {
    const [best] = known
        .map((key) => ({ key, distance: editDistance(unknown.toLowerCase(), key.toLowerCase()) }))
        .sort((x, y) => x.distance - y.distance);
    return best && best.distance <= Math.max(2, Math.floor(unknown.length / 3)) ? ` (did you mean "${best.key}"?)` : "";
}

/** Strips defaults and optionality off a schema to reach the object schema inside, if any. */
function objectSchema(schema: z.ZodType | undefined): z.ZodObject | undefined {
    while (schema && !(schema instanceof z.ZodObject)) {
        const def = schema.def as { innerType?: z.ZodType; in?: z.ZodType };
        // Defaults, optionals and refinements wrap their schema in `innerType`; a transform is a pipe from `in`.
        const inner = def.innerType ?? def.in;
        if (!inner) break;
        schema = inner;
    }
    return schema instanceof z.ZodObject ? schema : undefined;
}

/** The keys allowed at a path of the stack schema, to suggest the one a misspelled key meant. */
function knownKeysAt(path: readonly PropertyKey[]): string[] {
    const schema = path.reduce<z.ZodObject | undefined>(
        (parent, segment) => objectSchema(parent?.shape[String(segment)]),
        stackConfigSchema,
    );
    return schema ? Object.keys(schema.shape) : [];
}

function problemsOf(error: z.ZodError): ConfigProblem[] {
    return error.issues.flatMap((issue): ConfigProblem[] => {
        const key = (path: readonly PropertyKey[]) => [CONFIG_NAMESPACE + ":" + String(path[0] ?? ""), ...path.slice(1).map(String)].join(".");
        if (issue.code === "unrecognized_keys") {
            const known = knownKeysAt(issue.path);
            return issue.keys.map((unknown) => ({
                key: key([...issue.path, unknown]),
                message: `unknown key${suggestion(unknown, known)}; allowed here: ${known.join(", ")}`,
            }));
        }
        return [{ key: key(issue.path), message: issue.message }];
    });
}

/**
 * Parses the stack's configuration as Pulumi hands it over (`pulumi.runtime.allConfig()`: every
 * key with its namespace, values as strings) into a typed, defaulted {@link StackConfig}.
 * Keys of other namespaces (`kubernetes:`, `gcp:` ...) belong to providers and are left alone.
 *
 * @throws StackConfigError listing every problem at once.
 */
export function loadStackConfig(allConfig: Readonly<Record<string, string>>): StackConfig {
    const prefix = CONFIG_NAMESPACE + ":";
    const ours = Object.fromEntries(
        Object.entries(allConfig)
            .filter(([key]) => key.startsWith(prefix))
            .map(([key, value]) => [key.slice(prefix.length), decodeValue(value)]),
    );
    const result = stackConfigSchema.safeParse(ours);
    if (!result.success) {
        throw new StackConfigError(problemsOf(result.error));
    }
    return result.data;
}
