/**
 * jest testSequencer: the suites that run pods in the pod sandbox alternate with the others, each list
 * in jest's own order (a suite that failed last time first, then the longest first, by the last run's
 * times or, on a fresh clone, by file size).
 *
 * On a fresh clone (no times yet, as on every CI run) file size says little of the sandbox suites: those that
 * change the membership (test/membership/member-cluster.ts) are small files that run longest, waiting out
 * etcd's learner rounds and its 5 s rules. There they lead the sandbox suites: measured, by size alone they
 * started 41-66 s into the run and the run took 94 s, against 85-87 s with the last run's times.
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
const MEMBER_CLUSTER = path.join(__dirname, "membership", "member-cluster.ts");

/** Whether the suite loads `module`, directly or through the project's own modules. */
function loads(test, module) {
    const { hasteFS } = test.context;
    const seen = new Set();
    const pending = [test.path];
    while (pending.length > 0) {
        const file = pending.pop();
        if (file === module) return true;
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
    sort(tests) {
        const pods = [];
        const others = [];
        for (const test of super.sort([...tests])) (loads(test, POD_SANDBOX) ? pods : others).push(test);
        if (pods.every((test) => test.duration == null)) {
            const first = pods.filter((test) => loads(test, MEMBER_CLUSTER));
            pods.splice(0, pods.length, ...first, ...pods.filter((test) => !first.includes(test)));
        }
        const alternated = [];
        while (pods.length > 0 || others.length > 0) {
            if (pods.length > 0) alternated.push(pods.shift());
            if (others.length > 0) alternated.push(others.shift());
        }
        return alternated;
    }
}

module.exports = SuiteOrder;
