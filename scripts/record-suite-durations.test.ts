// The record of suite durations that orders a fresh clone's run: the median of each suite over the runs
// given, and nothing written for a run that failed or one that lacks a suite.
import { spawnSync } from "child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "fs";
import * as os from "os";
import * as path from "path";

const ROOT = path.join(__dirname, "..");
const SCRIPT = path.join(__dirname, "record-suite-durations.js");

let dir: string;
beforeEach(() => (dir = mkdtempSync(path.join(os.tmpdir(), "suite-durations-"))));
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** A jest --json output with one result per suite: [suite, milliseconds]. */
function run(name: string, suites: [string, number][], success = true): string {
    const file = path.join(dir, name);
    const testResults = suites.map(([suite, ms]) => ({ name: path.join(ROOT, suite), startTime: 1_000, endTime: 1_000 + ms }));
    writeFileSync(file, JSON.stringify({ success, testResults }));
    return file;
}

const record = (...args: string[]) => spawnSync(process.execPath, [SCRIPT, ...args, "--out", path.join(dir, "durations.json")], { encoding: "utf8", timeout: 10_000 });

test("keeps each suite's median over the runs, by its path from the project's root", () => {
    const runs = [run("a.json", [["test/a.test.ts", 30_000], ["b.test.ts", 5]]), run("b.json", [["test/a.test.ts", 10_000], ["b.test.ts", 7]]), run("c.json", [["b.test.ts", 6], ["test/a.test.ts", 20_000]])];
    const result = record(...runs);
    expect(result.status).toBe(0);
    expect(JSON.parse(readFileSync(path.join(dir, "durations.json"), "utf8"))).toEqual({ "b.test.ts": 6, "test/a.test.ts": 20_000 });
});

test.each([
    ["a run that failed", () => [run("a.json", [["a.test.ts", 1]], false)], /a\.json: not the output of a jest --json run that passed/],
    ["a suite missing from a run", () => [run("a.json", [["a.test.ts", 1], ["b.test.ts", 2]]), run("b.json", [["a.test.ts", 1]])], /b\.test\.ts is missing from 1 of the runs/],
])("refuses %s, naming it, and writes nothing", (_, runs, message) => {
    const result = record(...runs());
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(message);
    expect(existsSync(path.join(dir, "durations.json"))).toBe(false);
});
