// @ts-check
/**
 * Compiles this project's TypeScript, for Node (plan/typescript-loader.js) and for jest
 * (test/typescript-transform.js) alike. Each .ts file is transpiled alone by the project's own
 * TypeScript (`transpileModule`, with the compiler options of its nearest tsconfig.json, an inline
 * source map) and cached on disk under a hash of everything the output depends on (TypeScript's
 * version, this file, the tsconfig.json, the file's path and text), so a cached output is never stale and an
 * unchanged file is not compiled again, by whichever process meets it first. Types are checked by
 * `tsc` (`npm test`), not here.
 */
"use strict";
const crypto = require("crypto");
const fs = require("fs");
const os = require("os");
const path = require("path");

/** What every output depends on besides its tsconfig.json and its file: TypeScript's version and this compiler. */
const COMPILER = `${require("typescript/package.json").version}\n${fs.readFileSync(__filename, "utf8")}`;
/** Where compiled files are kept; any folder the user may write. */
const CACHE_DIR = process.env.APISIX_ETCD_TS_CACHE || path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), ".cache"), "apisix-etcd", "typescript");

/** @type {typeof import("typescript") | undefined} */
let typescript;
/** tsconfig.json text and folder, by the folder of a .ts file. */
const configs = new Map();

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

/**
 * A hash of everything the JavaScript of a .ts file depends on.
 * @param {string} file
 * @param {string} source the file's text
 * @returns {string}
 */
function cacheKey(file, source) {
    const config = nearestConfig(path.dirname(file));
    return crypto.createHash("sha256").update(JSON.stringify([COMPILER, config.file, config.text, file, source])).digest("hex");
}

/**
 * The JavaScript of a .ts file, from the cache or compiled now.
 * @param {string} file
 * @param {string} [source] the file's text, when the caller has read it already
 * @returns {string}
 */
function compile(file, source = fs.readFileSync(file, "utf8")) {
    const config = nearestConfig(path.dirname(file));
    const key = cacheKey(file, source);
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

module.exports = { cacheKey, compile };

// `node plan/typescript-compiler.js <file.ts>...` fills the cache ahead of the processes that will load
// the files (jest's global setup runs it beside the plan, so that six workers do not each load
// TypeScript and compile the same files). A file that does not parse is left out: the process that
// loads it fails on it, naming its file and line, where the user looks.
if (require.main === module) {
    for (const file of process.argv.slice(2)) {
        try {
            compile(path.resolve(file));
        } catch (error) {
            if (!(error instanceof SyntaxError)) throw error;
        }
    }
}
