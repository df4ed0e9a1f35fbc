import { specialSecretSig, specialSigKey } from "@pulumi/pulumi/runtime/rpc";

/** What a secret value is shown as in every file and line the plan writes. */
export const REDACTED = "[secret]";

function isSecretEnvelope(value: unknown): boolean {
    return typeof value === "object" && value !== null && (value as Record<string, unknown>)[specialSigKey] === specialSecretSig;
}

const isPlainObject = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value);

/**
 * A copy of serialized inputs with every secret value replaced by {@link REDACTED}. A secret object
 * (a Kubernetes Secret's whole `stringData`, which the provider marks secret) keeps its keys, which
 * are no secret, so that the manifest still has its shape and a reader sees what it holds.
 */
export function redactSecrets(value: unknown): unknown {
    if (isSecretEnvelope(value)) {
        const inner = (value as { value?: unknown }).value;
        return isPlainObject(inner) && !isSecretEnvelope(inner) ? Object.fromEntries(Object.keys(inner).map((key) => [key, REDACTED])) : REDACTED;
    }
    if (Array.isArray(value)) {
        return value.map(redactSecrets);
    }
    if (typeof value === "object" && value !== null) {
        return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, redactSecrets(inner)]));
    }
    return value;
}
