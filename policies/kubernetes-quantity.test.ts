import { parseQuantity } from "./kubernetes-quantity";

describe("parseQuantity reads Kubernetes quantities as the API server does", () => {
    test.each([
        ["20Gi", 20 * 2 ** 30],
        ["1Ki", 1024],
        ["1.5Ki", 1536],
        ["2Ti", 2 * 2 ** 40],
        ["1Ei", 2 ** 60],
        ["500m", 0.5],
        ["100n", 1e-7],
        ["250u", 2.5e-4],
        ["3k", 3000],
        ["4M", 4e6],
        ["5G", 5e9],
        ["1E", 1e18], // exa, not an exponent
        ["1e3", 1000],
        ["1E3", 1000],
        ["12e-1", 1.2],
        ["1e+2", 100],
        ["42", 42],
        [".5", 0.5],
        ["5.", 5],
        ["+1", 1],
        ["-2Mi", -2 * 2 ** 20],
    ])("%s = %d", (text, value) => {
        expect(parseQuantity(text)).toBeCloseTo(value, 12);
    });

    test.each([
        ["", "empty"],
        ["20GB", "a unit Kubernetes does not know"],
        ["20gi", "a lower-case binary suffix"],
        ["1 Gi", "a space"],
        [" 1Gi", "a leading space"],
        ["Gi", "no number"],
        ["1.2.3", "two decimal points"],
        ["0x10", "hexadecimal"],
        ["1e", "an exponent without digits"],
        ["1e3Gi", "an exponent and a suffix"],
        ["Infinity", "a JavaScript number word"],
        ["1_000", "a digit separator"],
    ])("%j is not a quantity (%s)", (text) => {
        expect(parseQuantity(text)).toBeUndefined();
    });
});
