/**
 * Compiles every .ts file of the project into the cache of plan/typescript-compiler.js, in a process
 * of its own so that it overlaps with whatever the caller does meanwhile. On a fresh clone (as on CI)
 * each of the six jest workers would otherwise load TypeScript and compile the files it meets.
 */
import { spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";

const PROJECT_DIR = path.resolve(__dirname, "..");
/** A cold compile of the whole project takes about 3 s; bounded anyway. */
const PRECOMPILE_TIMEOUT_MS = 60_000;
/** Folders with no .ts file of the project's own. */
const SKIPPED = new Set(["node_modules", ".cache", ".git", "rendered"]);

/** The project's .ts files, as tsconfig.json and jest's testMatch see them. */
export function projectTypeScriptFiles(dir = PROJECT_DIR): string[] {
    return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
        const file = path.join(dir, entry.name);
        if (entry.isDirectory()) return SKIPPED.has(entry.name) ? [] : projectTypeScriptFiles(file);
        return entry.isFile() && entry.name.endsWith(".ts") && !entry.name.endsWith(".d.ts") ? [file] : [];
    });
}

/**
 * Resolves when every file that parses is in the cache; rejects, with the compiler's output, when the
 * compiler failed. `env` is the compiler's environment (APISIX_ETCD_TS_CACHE names another cache).
 */
export function precompileProject(files = projectTypeScriptFiles(), env: NodeJS.ProcessEnv = process.env): Promise<void> {
    return new Promise((resolve, reject) => {
        const child = spawn(process.execPath, [path.join(PROJECT_DIR, "plan", "typescript-compiler.js"), ...files], {
            env,
            stdio: ["ignore", "ignore", "pipe"],
        });
        let stderr = "";
        child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
        const timer = setTimeout(() => child.kill("SIGKILL"), PRECOMPILE_TIMEOUT_MS);
        child.once("error", (error) => {
            clearTimeout(timer);
            reject(error);
        });
        child.once("close", (status, signal) => {
            clearTimeout(timer);
            if (status === 0) resolve();
            else reject(new Error(`plan/typescript-compiler.js failed (exit ${status}, signal ${signal}):\n${stderr.trim()}`));
        });
    });
}
