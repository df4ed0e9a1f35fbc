import Module = require("module");
import * as path from "path";
import { deferredModule } from "./deferred-module";

/**
 * Libraries the Pulumi SDK loads as it loads, for serializing functions (closures of dynamic
 * providers, `pulumi.runtime.serializeFunction`), which a program under mocks never does: the
 * TypeScript compiler and npm's arborist, 0.6 s of a plan. Each is put in Node's module cache as a
 * stand-in that loads the real module the first time anything of it is used, so whoever does use
 * it gets it. Imported before the SDK. (Tests do the same through jest's moduleNameMapper: test/deferred/.)
 */
const DEFERRED_SDK_MODULES: readonly string[] = ["typescript", "@npmcli/arborist"];

const SDK_DIR = path.dirname(require.resolve("@pulumi/pulumi/package.json"));

/** Where the SDK finds `name`; undefined where it is not installed (the SDK then does without it, or brings its own). */
function resolvedFromSdk(name: string): string | undefined {
    try {
        return require.resolve(name, { paths: [SDK_DIR] });
    } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "MODULE_NOT_FOUND") return undefined;
        throw error;
    }
}

for (const name of DEFERRED_SDK_MODULES) {
    const file = resolvedFromSdk(name);
    if (file === undefined || require.cache[file]) continue;
    const standIn = new Module(file);
    standIn.filename = file;
    standIn.loaded = true;
    standIn.exports = deferredModule(() => {
        // Out of the cache first, so that Node loads the module itself and later requires get it.
        delete require.cache[file];
        return require(file);
    });
    require.cache[file] = standIn;
}
