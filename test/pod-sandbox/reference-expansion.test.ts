// Kubernetes' `$(VAR)` references in a container's command, args and env values, as the kubelet expands them.
import { expandKubernetesReferences } from "./reference-expansion";

describe("expandKubernetesReferences", () => {
    const vars = new Map([["A", "alpha"], ["B", "$(A)"]]);
    const lookup = (name: string) => vars.get(name);
    test.each([
        ["$(A)-x", "alpha-x"],
        ["$(A)$(A)", "alphaalpha"],
        ["$$(A)", "$(A)"], // escaped
        ["$$$(A)", "$alpha"],
        ["$(MISSING)", "$(MISSING)"], // unknown references stay as written
        ["$(A", "$(A"], // unterminated
        ["cost $5", "cost $5"], // a lone $ is literal
        ["$(B)", "$(A)"], // no second pass over a substituted value
        ["end$", "end$"],
    ])("%s -> %s", (input, expected) => {
        expect(expandKubernetesReferences(input, lookup)).toBe(expected);
    });
});
