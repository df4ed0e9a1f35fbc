import { runProgram, ProgramRunArgs } from "./program-run";
import { RegisteredResource } from "./recording-monitor";

/** The outcome of one run, as the host reports it. */
export type ProgramRunResult = { readonly resources: RegisteredResource[] } | { readonly error: string };

/**
 * A process that runs the Pulumi program under the mock runtime for one or more stacks, one after
 * the other. Reads a JSON array of {@link ProgramRunArgs} on stdin and writes a JSON array of
 * {@link ProgramRunResult} on stdout, in the same order.
 */
async function main(): Promise<void> {
    let input = "";
    for await (const chunk of process.stdin) {
        input += chunk;
    }
    const results: ProgramRunResult[] = [];
    for (const args of JSON.parse(input) as ProgramRunArgs[]) {
        try {
            results.push({ resources: await runProgram(args) });
        } catch (error) {
            results.push({ error: (error as Error).message });
        }
    }
    // process.exit does not wait for a pipe to drain: wait until the whole answer is handed over.
    await new Promise<void>((resolve, reject) => process.stdout.write(JSON.stringify(results), (error) => (error ? reject(error) : resolve())));
}

main().then(
    () => process.exit(0),
    (error: Error) => {
        process.stderr.write(`the program host failed: ${error.stack ?? error.message}\n`);
        process.exit(2);
    },
);
