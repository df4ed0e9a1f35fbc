import "./deferred-sdk-modules";
import "./promise-leak-stacks";
import * as pulumi from "@pulumi/pulumi";
import { ProgramError } from "./program-error";
import { programFrames } from "./program-frames";
import { RecordingMonitor, RegisteredResource } from "./recording-monitor";
import { StackFileConfig } from "./stack-file";

/**
 * Steps of the SDK that its own hosts run around a program (the language host, and the Automation
 * API for inline programs, which runs each program in a store of its own); they are marked
 * internal, so they are not in the published typings.
 */
const sdkSettings: { awaitFeatureSupport(): Promise<void>; waitForRPCs(): Promise<void> } = require("@pulumi/pulumi/runtime/settings");
const sdkState: { withLocalStorage<T>(callback: () => Promise<T>): Promise<T> } = require("@pulumi/pulumi/runtime/state");

export interface ProgramRunArgs extends StackFileConfig {
    /** The program's folder (the one holding Pulumi.yaml and index.ts). */
    readonly programDir: string;
    readonly project: string;
    readonly stack: string;
}

/**
 * Providers are not reachable offline: a created resource's state is what the program declared, plus
 * stand-ins for what a provider generates (passwords, keys, certificates), so that what the program
 * derives from them is rendered too. The stand-ins are plainly not real values; the providers mark
 * the secret ones, and the monitor keeps them secret as the engine would.
 */
const mocks: pulumi.runtime.Mocks = {
    newResource: (args) => ({ id: `${args.name}-id`, state: { ...args.inputs, ...generatedOutputs(args.type, args.name) } }),
    call: (args) => args.inputs,
};

/** What the random and tls providers generate, as the plan's stand-in for resource `name`. */
export function generatedOutputs(type: string, name: string): Record<string, string> {
    const pem = (label: string) => `-----BEGIN ${label}-----\n(generated for ${name} at deployment)\n-----END ${label}-----\n`;
    switch (type) {
        case "random:index/randomPassword:RandomPassword":
            return { result: `planned${Buffer.from(name).toString("hex")}` };
        case "tls:index/privateKey:PrivateKey":
            return { privateKeyPem: pem("PRIVATE KEY"), publicKeyPem: pem("PUBLIC KEY") };
        case "tls:index/selfSignedCert:SelfSignedCert":
        case "tls:index/locallySignedCert:LocallySignedCert":
            return { certPem: pem("CERTIFICATE") };
        case "tls:index/certRequest:CertRequest":
            return { certRequestPem: pem("CERTIFICATE REQUEST") };
        default:
            return {};
    }
}

/** The stack a declaration runs in. */
export interface MockStack {
    readonly project: string;
    readonly stack: string;
    readonly config?: Record<string, string>;
    readonly secretKeys?: string[];
}

/**
 * Runs `declare` under Pulumi's mock runtime, as a program runs against a deployment engine, and
 * returns every resource it registered (with the options only the engine sees), in registration
 * order. Each call gets a runtime store of its own (config, monitor, settings).
 */
export function declareUnderMocks(stack: MockStack, declare: () => void): Promise<RegisteredResource[]> {
    return sdkState.withLocalStorage(async () => {
        const monitor = new RecordingMonitor(mocks);
        pulumi.runtime.setMockOptions(monitor, stack.project, stack.stack, false);
        pulumi.runtime.setAllConfig(stack.config ?? {}, stack.secretKeys);
        // Asks the monitor what it supports (secrets, resource references ...), as a real run does.
        await sdkSettings.awaitFeatureSupport();

        const failures: unknown[] = [];
        const onFailure = (error: unknown) => failures.push(error);
        process.on("unhandledRejection", onFailure);
        try {
            declare();
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
    });
}

/**
 * Runs the Pulumi program for a stack under the mock runtime. The program's own modules are loaded
 * afresh each time, so several stacks can be planned one after another in one process; the
 * libraries in node_modules stay loaded, and the loader keeps what it compiled, which is what
 * makes the later runs fast. An error the program threw says where, in the TypeScript it wrote.
 */
export async function runProgram(args: ProgramRunArgs): Promise<RegisteredResource[]> {
    try {
        return await declareUnderMocks(args, () => {
            forgetProgramModules(args.programDir);
            require(args.programDir);
        });
    } catch (error) {
        if (!(error instanceof ProgramError)) throw error;
        throw new ProgramError(
            error.causes.map((cause) => (cause instanceof Error ? [cause.message, ...programFrames(cause, args.programDir)].join("\n") : cause)),
        );
    }
}

/** The program's own modules: not its libraries, nor this planner. */
const isProgramModule = (programDir: string, file: string): boolean =>
    file.startsWith(programDir + "/") && !file.includes("/node_modules/") && !file.startsWith(`${programDir}/plan/`);

/** Drops the program's own modules from Node's module cache. */
function forgetProgramModules(programDir: string): void {
    for (const file of Object.keys(require.cache).filter((file) => isProgramModule(programDir, file))) {
        delete require.cache[file];
    }
}
