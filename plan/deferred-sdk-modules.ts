import Module = require("module");
import * as path from "path";

/**
 * Libraries the Pulumi SDK loads as it loads, for serializing functions (closures of dynamic
 * providers, `pulumi.runtime.serializeFunction`), which a program under mocks never does: the
 * TypeScript compiler and npm's arborist, 0.6 s of a plan. Each is put in Node's module cache as a
 * stand-in that loads the real module the first time anything of it is used, so whoever does use
 * it gets it. Imported before the SDK.
 */
const SDK_DIR = path.dirname(require.resolve("@pulumi/pulumi/package.json"));

for (const name of ["typescript", "@npmcli/arborist"]) {
    const file = require.resolve(name, { paths: [SDK_DIR] });
    if (require.cache[file]) continue;
    let real: Record<PropertyKey, unknown> | undefined;
    const load = () => {
        if (!real) {
            // Out of the cache first, so that Node loads the module itself and later requires get it.
            delete require.cache[file];
            real = require(file) as Record<PropertyKey, unknown>;
        }
        return real;
    };
    const standIn = new Module(file);
    standIn.filename = file;
    standIn.loaded = true;
    // Claims to be an ES module's namespace, so that TypeScript's `import * as` helper keeps this
    // object instead of copying every property (which would load the module).
    standIn.exports = new Proxy({}, { get: (_, key) => (key === "__esModule" && !real ? true : load()[key]), has: (_, key) => key in load() });
    require.cache[file] = standIn;
}
