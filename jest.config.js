/** Tests sit beside what they test; the real-etcd tests live in test/etcd. Type-checking is `tsc` in `npm test`. */
module.exports = {
    testEnvironment: "node",
    transform: { "^.+\\.ts$": ["ts-jest", { isolatedModules: true }] },
    testMatch: ["<rootDir>/**/*.test.ts"],
    testPathIgnorePatterns: ["/node_modules/", "/rendered/", "/.cache/"],
};
