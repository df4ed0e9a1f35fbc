import { specialSecretSig, specialSigKey } from "@pulumi/pulumi/runtime/rpc";

/** What a secret value is shown as in every file and line the plan writes. */
export const REDACTED = "[secret]";

function isSecretEnvelope(value: unknown): boolean {
    return typeof value === "object" && value !== null && (value as Record<string, unknown>)[specialSigKey] === specialSecretSig;
}

/** A copy of serialized inputs with every secret replaced by {@link REDACTED}. */
export function redactSecrets(value: unknown): unknown {
    if (isSecretEnvelope(value)) {
        return REDACTED;
    }
    if (Array.isArray(value)) {
        return value.map(redactSecrets);
    }
    if (typeof value === "object" && value !== null) {
        return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, redactSecrets(inner)]));
    }
    return value;
}
