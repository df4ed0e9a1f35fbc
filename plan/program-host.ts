import { runProgram, ProgramRunArgs } from "./program-run";
import { RegisteredResource } from "./recording-monitor";
import { PlanContext, planStacks, StackPlan, StackRequest } from "./stack-plan";

/** What a host is asked: to run the program for some stacks, or to plan stacks (program and pack). */
export type HostRequest = { readonly declare: readonly ProgramRunArgs[] } | { readonly plan: readonly StackRequest[]; readonly context: PlanContext };

/** The outcome of one run or plan, as the host reports it. */
export type ProgramRunResult = { readonly resources: RegisteredResource[] } | { readonly error: string };
export type StackPlanResult = { readonly plan: StackPlan } | { readonly error: string };

async function answer(request: HostRequest): Promise<ProgramRunResult[] | StackPlanResult[]> {
    if ("declare" in request) {
        const results: ProgramRunResult[] = [];
        for (const args of request.declare) {
            try {
                results.push({ resources: await runProgram(args) });
            } catch (error) {
                results.push({ error: (error as Error).message });
            }
        }
        return results;
    }
    return (await planStacks(request.plan, request.context)).map((plan) => (plan instanceof Error ? { error: plan.message } : { plan }));
}

/**
 * A process that runs the Pulumi program under the mock runtime for one or more stacks, one after
 * the other, and plans them if asked. Reads a JSON {@link HostRequest} on stdin and writes a JSON
 * array of results on stdout, in the order of the request.
 */
async function main(): Promise<void> {
    let input = "";
    for await (const chunk of process.stdin) {
        input += chunk;
    }
    const results = await answer(JSON.parse(input) as HostRequest);
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
