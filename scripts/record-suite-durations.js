#!/usr/bin/env node
// @ts-check
/**
 * Writes test/suite-durations.json, the suites' durations that order a run which has no times of its own
 * (a fresh clone, every CI run; test/suite-order.js), from the results of whole runs:
 *   npx jest --json --outputFile=run1.json   (two or three runs: the median of each suite is kept)
 *   node scripts/record-suite-durations.js run1.json run2.json run3.json   [--out <file>]
 * A suite missing from a run, or a run that failed, is refused: a partial record would misorder.
 */
"use strict";
const fs = require("fs");
const path = require("path");

const ROOT = path.join(__dirname, "..");

function main(args) {
    const out = args.indexOf("--out");
    const output = out === -1 ? path.join(ROOT, "test", "suite-durations.json") : args[out + 1];
    const files = out === -1 ? args : args.filter((_, i) => i !== out && i !== out + 1);
    if (files.length === 0 || output === undefined) throw new Error("usage: node scripts/record-suite-durations.js <jest --json output>... [--out <file>]");
    /** @type {Map<string, number[]>} */
    const durations = new Map();
    for (const file of files) {
        const run = JSON.parse(fs.readFileSync(file, "utf8"));
        if (!Array.isArray(run.testResults) || run.success !== true) throw new Error(`${file}: not the output of a jest --json run that passed`);
        for (const result of run.testResults) {
            const suite = path.relative(ROOT, result.name);
            durations.set(suite, [...(durations.get(suite) ?? []), result.endTime - result.startTime]);
        }
    }
    const record = {};
    for (const [suite, times] of [...durations].sort(([a], [b]) => a.localeCompare(b))) {
        if (times.length !== files.length) throw new Error(`${suite} is missing from ${files.length - times.length} of the runs`);
        const sorted = [...times].sort((a, b) => a - b);
        record[suite] = sorted[Math.floor(sorted.length / 2)];
    }
    fs.writeFileSync(`${output}.tmp`, `${JSON.stringify(record, null, 2)}\n`);
    fs.renameSync(`${output}.tmp`, output);
    process.stdout.write(`${output}: ${Object.keys(record).length} suites\n`);
}

try {
    main(process.argv.slice(2));
} catch (error) {
    process.stderr.write(`record-suite-durations: ${error instanceof Error ? error.message : error}\n`);
    process.exit(1);
}
