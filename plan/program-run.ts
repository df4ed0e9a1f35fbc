import * as pulumi from "@pulumi/pulumi";
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

/** The program itself failed: its config loader refused the config, or a component threw. */
export class ProgramError extends Error {
    constructor(readonly causes: readonly unknown[]) {
        super(causes.map((cause) => (cause instanceof Error ? cause.message : String(cause))).join("\n"));
        this.name = "ProgramError";
    }
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
 * libraries in node_modules stay loaded, which is what makes the later runs fast.
 */
export function runProgram(args: ProgramRunArgs): Promise<RegisteredResource[]> {
    return declareUnderMocks(args, () => {
        keepCompiledModules(args.programDir);
        forgetProgramModules(args.programDir);
        require(args.programDir);
    });
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

/** The JavaScript ts-node made of each of the program's modules, by file. */
const compiledModules = new Map<string, string>();
let keepingCompiledModules = false;

type ModuleLoader = (module: { _compile(code: string, file: string): unknown }, file: string) => void;

/**
 * ts-node compiles a module each time it is loaded, and the program's modules are loaded again for
 * every stack: keep what it compiled the first time (the files do not change during a plan). A no-op
 * where no TypeScript loader is registered.
 */
function keepCompiledModules(programDir: string): void {
    const extensions = require.extensions as unknown as Record<string, ModuleLoader | undefined>;
    const load = extensions[".ts"];
    if (keepingCompiledModules || !load) return;
    keepingCompiledModules = true;
    extensions[".ts"] = (module, file) => {
        const compiled = compiledModules.get(file);
        if (compiled !== undefined) {
            module._compile(compiled, file);
            return;
        }
        if (isProgramModule(programDir, file)) {
            // ts-node wraps _compile to hand it the compiled code; wrapped beneath, this sees that code.
            const compile = module._compile.bind(module);
            module._compile = (code, compiledFile) => {
                compiledModules.set(compiledFile, code);
                return compile(code, compiledFile);
            };
        }
        load(module, file);
    };
}
