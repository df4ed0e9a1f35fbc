import { runProgram, ProgramRunArgs } from "./program-run";

/**
 * A process that runs the Pulumi program once under the mock runtime (the SDK's runtime state is
 * global, so each run gets a process of its own). Reads its {@link ProgramRunArgs} as JSON on stdin,
 * writes the registered resources as JSON on stdout; on failure, the reasons on stderr and status 2.
 */
async function main(): Promise<void> {
    let input = "";
    for await (const chunk of process.stdin) {
        input += chunk;
    }
    const resources = await runProgram(JSON.parse(input) as ProgramRunArgs);
    process.stdout.write(JSON.stringify(resources));
}

main().then(
    () => process.exit(0),
    (error: Error) => {
        process.stderr.write(error.message + "\n");
        process.exit(2);
    },
);
