import * as fs from "fs";
import { parseDocument } from "yaml";

/** A stack file that cannot be used: missing, not YAML, or not shaped like a Pulumi stack file. */
export class StackFileError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "StackFileError";
    }
}

/** The configuration of a stack as Pulumi hands it to a program: values as strings, which are secret. */
export interface StackFileConfig {
    readonly config: Record<string, string>;
    readonly secretKeys: string[];
}

/** What stands in for a `secure:` value: the ciphertext can only be read by the stack's secrets provider. */
export const SECRET_PLACEHOLDER = "[secret]";

/**
 * Reads a `Pulumi.<stack>.yaml` the way the Pulumi CLI does: scalars become their text, objects
 * and lists JSON, and `secure:` values are secrets (whose ciphertext this offline path cannot open).
 */
export function readStackFile(file: string): StackFileConfig {
    let text: string;
    try {
        text = fs.readFileSync(file, "utf8");
    } catch (error) {
        throw new StackFileError(`cannot read the stack file ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
    }
    const document = parseDocument(text, { prettyErrors: true });
    if (document.errors.length > 0) {
        throw new StackFileError(`${file} is not valid YAML:\n${document.errors.map((e) => "  " + e.message).join("\n")}`);
    }
    const root: unknown = document.toJS() ?? {};
    if (typeof root !== "object" || Array.isArray(root)) {
        throw new StackFileError(`${file}: expected a mapping with a "config" key at the top level`);
    }
    const entries: unknown = (root as Record<string, unknown>).config ?? {};
    if (typeof entries !== "object" || entries === null || Array.isArray(entries)) {
        throw new StackFileError(`${file}: "config" must be a mapping of "<namespace>:<key>" to values`);
    }
    const config: Record<string, string> = {};
    const secretKeys: string[] = [];
    for (const [key, value] of Object.entries(entries)) {
        if (!key.includes(":")) {
            throw new StackFileError(`${file}: config key "${key}" has no namespace; write it as "apisix-etcd:${key}"`);
        }
        if (value !== null && typeof value === "object" && "secure" in value) {
            config[key] = SECRET_PLACEHOLDER;
            secretKeys.push(key);
        } else {
            config[key] = typeof value === "string" ? value : JSON.stringify(value);
        }
    }
    return { config, secretKeys };
}
