// @ts-check
/**
 * Lets Node load this project's TypeScript: `node -r ./plan/typescript-loader.js plan/cli.ts`.
 * Each .ts file is transpiled alone by the project's own TypeScript (`transpileModule`, with the
 * compiler options of its nearest tsconfig.json) and cached on disk under a hash of everything the
 * output depends on (TypeScript's version, the tsconfig.json, the file's path and text), so a
 * cached output is never stale and an unchanged file is not compiled again. Types are checked by
 * `tsc` (`npm test`), not here. Stack traces stay those of the JavaScript; `sourceMapOf` gives the
 * map of a loaded file to whoever shows a user a TypeScript line (plan/program-frames.ts).
 */
"use strict";
const crypto = require("crypto");
const fs = require("fs");
const Module = require("module");
const os = require("os");
const path = require("path");

const TYPESCRIPT_VERSION = require("typescript/package.json").version;
/** Where compiled files are kept; any folder the user may write. */
const CACHE_DIR = process.env.APISIX_ETCD_TS_CACHE || path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), ".cache"), "apisix-etcd", "typescript");
const SOURCE_MAP_COMMENT = /\n\/\/# sourceMappingURL=data:application\/json;base64,([A-Za-z0-9+/=]+)\s*$/;

/** @type {typeof import("typescript") | undefined} */
let typescript;
/** tsconfig.json text and folder, by the folder of a .ts file. */
const configs = new Map();
/** The compiled code of every .ts file loaded, by file name. */
const compiled = new Map();

/** @param {string} dir @returns {{ file: string, text: string }} */
function nearestConfig(dir) {
    let config = configs.get(dir);
    if (!config) {
        const file = path.join(dir, "tsconfig.json");
        const parent = path.dirname(dir);
        if (fs.existsSync(file)) config = { file, text: fs.readFileSync(file, "utf8") };
        else if (parent !== dir) config = nearestConfig(parent);
        else throw new Error(`no tsconfig.json in ${dir} or above it`);
        configs.set(dir, config);
    }
    return config;
}

/** @param {string} file @param {string} source @param {{ file: string, text: string }} config */
function transpile(file, source, config) {
    typescript ??= require("typescript");
    const ts = typescript;
    const json = ts.parseConfigFileTextToJson(config.file, config.text);
    if (json.error) throw new Error(`${config.file}: ${ts.flattenDiagnosticMessageText(json.error.messageText, "\n")}`);
    const { options, errors } = ts.convertCompilerOptionsFromJson(json.config.compilerOptions ?? {}, path.dirname(config.file), config.file);
    if (errors.length > 0) throw new Error(`${config.file}: ${errors.map((e) => ts.flattenDiagnosticMessageText(e.messageText, "\n")).join("; ")}`);
    const output = ts.transpileModule(source, {
        fileName: file,
        compilerOptions: { ...options, noEmit: false, declaration: false, sourceMap: false, inlineSourceMap: true, inlineSources: false },
        reportDiagnostics: true,
    });
    const syntaxErrors = (output.diagnostics ?? []).filter((d) => d.category === ts.DiagnosticCategory.Error);
    if (syntaxErrors.length > 0) {
        const where = (/** @type {import("typescript").Diagnostic} */ d) =>
            d.file && d.start !== undefined ? `:${d.file.getLineAndCharacterOfPosition(d.start).line + 1}` : "";
        throw new SyntaxError(syntaxErrors.map((d) => `${file}${where(d)}: ${ts.flattenDiagnosticMessageText(d.messageText, "\n")}`).join("\n"));
    }
    return output.outputText;
}

/** @param {string} file @returns {string} */
function compile(file) {
    const source = fs.readFileSync(file, "utf8");
    const config = nearestConfig(path.dirname(file));
    const key = crypto.createHash("sha256").update(JSON.stringify([TYPESCRIPT_VERSION, config.file, config.text, file, source])).digest("hex");
    const cached = path.join(CACHE_DIR, key.slice(0, 2), `${key}.js`);
    try {
        return fs.readFileSync(cached, "utf8");
    } catch (error) {
        if (/** @type {NodeJS.ErrnoException} */ (error).code !== "ENOENT") throw error;
    }
    const code = transpile(file, source, config);
    // Written beside and renamed: a reader sees the whole file or none. A cache that cannot be
    // written (a read-only home) only costs the next run the compile again.
    try {
        fs.mkdirSync(path.dirname(cached), { recursive: true });
        const partial = `${cached}.${process.pid}.tmp`;
        fs.writeFileSync(partial, code);
        fs.renameSync(partial, cached);
    } catch {
        // the compiled code is used all the same
    }
    return code;
}

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
