import { spawnSync } from "child_process";
import * as path from "path";

/**
 * What a process that runs the program sees of stack traces (plan/promise-leak-stacks.ts), each in a
 * node process of its own as the program host is: the SDK's promises, and errors of its own.
 */
const SCRIPT = `
const { debuggablePromise } = require("@pulumi/pulumi/runtime/debuggable");
const tracked = Promise.resolve();
debuggablePromise(tracked, "a registration");
function programLine() { return new Error("bad config").stack; }
class ConfigError extends TypeError { constructor() { super("replicas must be a number"); this.name = "ConfigError"; } }
function deeper() { return new ConfigError().stack; }
Error.stackTraceLimit = 0;
const frameless = new RangeError("no frames").stack;
Error.stackTraceLimit = 10;
console.log(JSON.stringify({ leakTrace: tracked._debugStackTrace, program: programLine(), subclass: deeper(), frameless }));
`;

function traces(withHook: boolean, env: NodeJS.ProcessEnv = {}): { leakTrace: string; program: string; subclass: string; frameless: string } {
    const hook = withHook ? ["-r", path.join(__dirname, "..", "plan", "typescript-loader.js"), "-r", path.join(__dirname, "promise-leak-stacks.ts")] : [];
    const environment = { ...process.env, ...env };
    if (!("PULUMI_DEBUG_PROMISE_LEAKS" in env)) delete environment.PULUMI_DEBUG_PROMISE_LEAKS;
    const child = spawnSync(process.execPath, [...hook, "-e", SCRIPT], { cwd: path.join(__dirname, ".."), encoding: "utf8", env: environment });
    if (child.status !== 0) throw new Error(`node exited with ${child.status}: ${child.stderr}`);
    return JSON.parse(child.stdout);
}

describe("the SDK's promise traces in a process that runs the program", () => {
    const plain = traces(false);
    const hooked = traces(true);

    test("are left empty: the leak report reads them only with PULUMI_DEBUG_PROMISE_LEAKS", () => {
        expect(plain.leakTrace).toMatch(/^Error\n {4}at debuggablePromise \(.*debuggable\.js:\d+:\d+\)/);
        expect(hooked.leakTrace).toBe("");
    });

    test("are formatted as the SDK asks with PULUMI_DEBUG_PROMISE_LEAKS set", () => {
        expect(traces(true, { PULUMI_DEBUG_PROMISE_LEAKS: "1" }).leakTrace).toMatch(/^Error\n {4}at debuggablePromise \(/);
    });

    test("every other stack is Node's own, with or without frames", () => {
        expect(hooked.program).toMatch(/^Error: bad config\n {4}at programLine \(/);
        expect({ program: hooked.program, subclass: hooked.subclass, frameless: hooked.frameless }).toEqual({
            program: plain.program,
            subclass: plain.subclass,
            frameless: plain.frameless,
        });
    });
});
