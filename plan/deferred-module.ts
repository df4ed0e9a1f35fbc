/**
 * A stand-in for a module's exports that loads the module (`load`) the first time anything of it
 * is read, and from then on reads through to it. It claims to be an ES module's namespace, so
 * that TypeScript's `import * as` helper keeps the stand-in instead of copying every property
 * (which would load the module at once).
 */
export function deferredModule(load: () => object): object {
    let real: Record<PropertyKey, unknown> | undefined;
    const loaded = () => (real ??= load() as Record<PropertyKey, unknown>);
    return new Proxy({}, { get: (_, key) => (key === "__esModule" && !real ? true : loaded()[key]), has: (_, key) => key in loaded() });
}
