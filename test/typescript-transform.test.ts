import * as fs from "fs";

/** Erased by TypeScript: without the source map, the lines below it would move up by its length in a stack. */
interface Erased {
    readonly first: string;
    readonly second: string;
    readonly third: string;
}

test("a stack in a test names the TypeScript line (jest reads the transform's inline source map)", () => {
    const erased: Erased = { first: "1", second: "2", third: "3" };
    const error = new Error("at the marked line"); // marked line
    const line = fs.readFileSync(__filename, "utf8").split("\n").findIndex((text) => text.endsWith("// marked line")) + 1;
    expect(Object.keys(erased)).toHaveLength(3);
    expect(error.stack).toContain(`${__filename}:${line}:`);
});
