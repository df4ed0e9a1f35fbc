// @ts-check
/**
 * jest's transform for .ts files: the compiler `npm start` uses (plan/typescript-compiler.js), so
 * tests run the JavaScript the plan runs, and a file that the plan, a program host or another
 * worker compiled already is read from the compiler's cache instead of compiled again. jest reads
 * the inline source map, so a failing test's stack names the TypeScript line.
 */
"use strict";
const { cacheKey, compile } = require("../plan/typescript-compiler.js");

/** @type {import("@jest/transform").SyncTransformer} */
module.exports = {
    getCacheKey: (source, file) => cacheKey(file, source),
    process: (source, file) => ({ code: compile(file, source) }),
};
