/**
 * jest testSequencer: the suites that run pods in the pod sandbox alternate with the others, each list
 * in jest's own order: a suite that failed last time first, then the longest first, by the last run's
 * times or, where this checkout has none (a fresh clone, every CI run), by the durations recorded in
 * test/suite-durations.json (scripts/record-suite-durations.js), and by file size for a suite in neither.
 * File size says little of the sandbox suites (the membership suites are small files that run longest):
 * measured on a fresh clone, by size the run took 94 s against 85-87 s with times.
 *
 * Why: jest's longest-first order starts the six longest suites together, and those are all sandbox
 * suites. Six clusters at once on two cores stretch every election and wait, and each idle member
 * costs CPU for as long as its suite runs: measured, the same code took 126 and 138 s (237 and 261 s
 * of CPU) in that order against 109 and 114 s (212 and 224 s) alternating (README, "Measured").
 * Plain JavaScript: jest loads a sequencer without its transform.
 */
const path = require("path");
const TestSequencer = require("@jest/test-sequencer").default;

const POD_SANDBOX = path.join(__dirname, "pod-sandbox", "pod-sandbox.ts");
/** Milliseconds by suite path from the project's root. */
const RECORDED = require("./suite-durations.json");

/** Whether the suite loads the pod sandbox, directly or through the project's own modules. */
function runsPods(test) {
    const { hasteFS } = test.context;
    const seen = new Set();
    const pending = [test.path];
    while (pending.length > 0) {
        const file = pending.pop();
        if (file === POD_SANDBOX) return true;
        if (seen.has(file)) continue;
        seen.add(file);
        for (const name of hasteFS.getDependencies(file) ?? []) {
            if (!name.startsWith(".")) continue; // a package
            const base = path.resolve(path.dirname(file), name);
            const found = [base, `${base}.ts`, `${base}.js`].find((candidate) => hasteFS.exists(candidate));
            if (found) pending.push(found);
        }
    }
    return false;
}

class SuiteOrder extends TestSequencer {
    time(test) {
        return super.time(test) ?? RECORDED[path.relative(test.context.config.rootDir, test.path)];
    }

    sort(tests) {
        const pods = [];
        const others = [];
        for (const test of super.sort([...tests])) (runsPods(test) ? pods : others).push(test);
        const alternated = [];
        while (pods.length > 0 || others.length > 0) {
            if (pods.length > 0) alternated.push(pods.shift());
            if (others.length > 0) alternated.push(others.shift());
        }
        return alternated;
    }
}

module.exports = SuiteOrder;
