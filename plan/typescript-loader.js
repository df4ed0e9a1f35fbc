// @ts-check
/**
 * Lets Node load this project's TypeScript: `node -r ./plan/typescript-loader.js plan/cli.ts`, each
 * .ts file compiled by plan/typescript-compiler.js. Stack traces stay those of the JavaScript;
 * `sourceMapOf` gives the map of a loaded file to whoever shows a user a TypeScript line
 * (plan/program-frames.ts).
 */
"use strict";
const Module = require("module");
const { compile } = require("./typescript-compiler.js");

const SOURCE_MAP_COMMENT = /\n\/\/# sourceMappingURL=data:application\/json;base64,([A-Za-z0-9+/=]+)\s*$/;
/** The compiled code of every .ts file loaded, by file name. */
const compiled = new Map();

/** @type {Record<string, (module: NodeJS.Module & { _compile(code: string, file: string): void }, file: string) => void>} */
const extensions = /** @type {any} */ (Module)._extensions;
extensions[".ts"] = (module, file) => {
    let code = compiled.get(file);
    if (code === undefined) {
        code = compile(file);
        compiled.set(file, code);
    }
    module._compile(code, file);
};

/**
 * The source map of a .ts file this loader compiled (JSON, as TypeScript wrote it), if it did.
 * @param {string} file
 * @returns {object | undefined}
 */
function sourceMapOf(file) {
    const match = SOURCE_MAP_COMMENT.exec(compiled.get(file) ?? "");
    return match ? JSON.parse(Buffer.from(match[1], "base64").toString("utf8")) : undefined;
}

module.exports = { sourceMapOf };
