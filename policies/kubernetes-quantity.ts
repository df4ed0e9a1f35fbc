/**
 * Kubernetes resource quantities ("20Gi", "500m", "1e3"), parsed the way the API server reads them.
 * The policies compare a memory limit with a byte count; the schema needs the numeric value to bound
 * `quotaBackendBytes` (the component hands etcd a plain byte count, since etcd does not understand
 * Kubernetes suffixes). It lives with the pack, which must stand on its own.
 */

const QUANTITY = /^([+-]?(?:\d+(?:\.\d*)?|\.\d+))(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][+-]?\d+)?$/;

const SUFFIX_FACTORS: Readonly<Record<string, number>> = {
    Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60,
    n: 1e-9, u: 1e-6, m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18,
};

/** The value of a quantity, or undefined when the text is not a Kubernetes quantity. */
export function parseQuantity(text: string): number | undefined {
    const match = QUANTITY.exec(text);
    if (!match) {
        return undefined;
    }
    const [, number, suffix] = match;
    if (suffix === undefined) {
        return Number(number);
    }
    // An exponent ("e3", "E-2"); "E" and "Ei" alone are the exa and exbi suffixes.
    if (/^[eE][+-]?\d/.test(suffix)) {
        return Number(number + suffix);
    }
    return Number(number) * SUFFIX_FACTORS[suffix];
}
