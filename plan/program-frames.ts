import { SourceMap } from "module";
import * as path from "path";

/** The source maps of the TypeScript that plan/typescript-loader.js compiled (none when another loader ran). */
function loadedSourceMap(file: string): SourceMap | undefined {
    const loader = require.cache[require.resolve("./typescript-loader.js")]?.exports as { sourceMapOf(file: string): object | undefined } | undefined;
    const payload = loader?.sourceMapOf(file);
    return payload ? new SourceMap(payload as never) : undefined;
}

/** `    at name (file:line:column)` or `    at file:line:column`, as V8 writes a stack frame. */
const FRAME = /^\s*at (?:(.+) \()?(\/[^()]+):(\d+):(\d+)\)?$/;

/**
 * The frames of `error`'s stack that are in the program's own files (not its libraries, nor the
 * planner), as `at <function> (<file relative to programDir>:<line>:<column>)` with the lines of
 * the TypeScript the user wrote. The stack is mapped only here, when an error is shown: the SDK
 * reads a stack for every resource it registers, and mapping each of those costs seconds.
 */
export function programFrames(error: Error, programDir: string): string[] {
    const frames: string[] = [];
    for (const line of (error.stack ?? "").split("\n").slice(1)) {
        const match = FRAME.exec(line);
        if (!match) continue;
        const [, name, file, lineText, columnText] = match;
        const relative = path.relative(programDir, file);
        if (relative.startsWith("..") || relative.split(path.sep).some((part) => part === "node_modules") || relative.startsWith(`plan${path.sep}`)) continue;
        // The loader compiles a .ts file into a module of the same name: only the line and column move.
        const entry = loadedSourceMap(file)?.findEntry(Number(lineText) - 1, Number(columnText) - 1);
        const [lineNumber, column] = entry && "originalLine" in entry ? [entry.originalLine + 1, entry.originalColumn + 1] : [lineText, columnText];
        const where = `${relative}:${lineNumber}:${column}`;
        frames.push(`    at ${name ? `${name} (${where})` : where}`);
    }
    return frames;
}
