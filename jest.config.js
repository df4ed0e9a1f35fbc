/** Tests sit beside what they test; the real-etcd tests live in test/etcd; test/typecheck.test.ts runs tsc. */
module.exports = {
    testEnvironment: "node",
    // Each file transpiled alone by the plan's own compiler (test/typescript-transform.js); tsc checks the types.
    // Three times the cores of the machine this was measured on (two): the sandbox suites mostly wait on etcd
    // (elections, the 5 s before a removal, learner rounds), and with four workers, four of them at once left
    // 18-31 % of the CPU idle in the first minute; six workers took 119-139 s against 136-146 s (README, "Measured").
    maxWorkers: 6,
    transform: { "^.+\\.ts$": "<rootDir>/test/typescript-transform.js" },
    testMatch: ["<rootDir>/**/*.test.ts"],
    testPathIgnorePatterns: ["/node_modules/", "/rendered/", "/.cache/"],
    // The Pulumi SDK loads these as it loads, for function serialization, which no test does:
    // they load on first use instead (0.6 s for every test file that loads the SDK; plan/deferred-sdk-modules.ts).
    moduleNameMapper: { "^(typescript|@npmcli/arborist)$": "<rootDir>/test/deferred/$1.ts" },
    // The suites that run pods alternate with the others, not six clusters at once (test/suite-order.js).
    testSequencer: "<rootDir>/test/suite-order.js",
    // Renders the prod stack once with the real plan CLI for every test file (test/rendered-plan.ts).
    globalSetup: "<rootDir>/test/global-setup.ts",
    globalTeardown: "<rootDir>/test/global-teardown.ts",
};
