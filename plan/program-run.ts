import * as pulumi from "@pulumi/pulumi";
import { RecordingMonitor, RegisteredResource } from "./recording-monitor";
import { StackFileConfig } from "./stack-file";

/**
 * Two start-up and shut-down steps of the SDK that the language host runs around a program; they are
 * marked internal, so they are not in the published typings.
 */
const sdkSettings: { awaitFeatureSupport(): Promise<void>; waitForRPCs(): Promise<void> } = require("@pulumi/pulumi/runtime/settings");

export interface ProgramRunArgs extends StackFileConfig {
    /** The program's folder (the one holding Pulumi.yaml and index.ts). */
    readonly programDir: string;
    readonly project: string;
    readonly stack: string;
}

/** The program itself failed: its config loader refused the config, or a component threw. */
export class ProgramError extends Error {
    constructor(readonly causes: readonly unknown[]) {
        super(causes.map((cause) => (cause instanceof Error ? cause.message : String(cause))).join("\n"));
        this.name = "ProgramError";
    }
}

/** Providers are not reachable offline: a created resource's state is what the program declared. */
const mocks: pulumi.runtime.Mocks = {
    newResource: (args) => ({ id: `${args.name}-id`, state: args.inputs }),
    call: (args) => args.inputs,
};

/**
 * Runs the Pulumi program under Pulumi's mock runtime, as `pulumi preview` would run it against a
 * deployment engine, and returns every resource it registered, in registration order.
 * Runs once per process: the SDK's runtime state is global.
 */
export async function runProgram(args: ProgramRunArgs): Promise<RegisteredResource[]> {
    const monitor = new RecordingMonitor(mocks);
    pulumi.runtime.setMockOptions(monitor, args.project, args.stack, false);
    pulumi.runtime.setAllConfig(args.config, args.secretKeys);
    // Asks the monitor what it supports (secrets, resource references ...), as a real run does.
    await sdkSettings.awaitFeatureSupport();

    const failures: unknown[] = [];
    const onFailure = (error: unknown) => failures.push(error);
    process.on("unhandledRejection", onFailure);
    try {
        require(args.programDir);
        await sdkSettings.waitForRPCs();
    } catch (error) {
        failures.push(error);
    } finally {
        process.off("unhandledRejection", onFailure);
    }
    if (failures.length > 0) {
        throw new ProgramError(failures);
    }
    return monitor.registered;
}
