import type * as grpc from "@grpc/grpc-js";
import * as path from "path";
import { AnalyzerService, PolicyPackClient, PolicyPackError } from "./policy-pack";

/** A gRPC method as its service definition describes it: how its messages go on the wire. */
interface MethodDefinition {
    requestSerialize(value: unknown): Buffer;
    requestDeserialize(bytes: Buffer): unknown;
    responseSerialize(value: unknown): Buffer;
    responseDeserialize(bytes: Buffer): unknown;
}
type Handler = (call: { request: unknown }, callback: (error: Error | null | undefined, response?: unknown) => void) => unknown;

let loaded: { packDir: string; pack: PolicyPackClient } | undefined;

/**
 * The policy pack in `packDir`, loaded into this process: its own entry point is required as
 * `run-policy-pack` requires it (from the pack's folder), and the analyzer service it registers
 * with its gRPC server is called directly instead of over a socket. Each request and response is
 * still encoded and decoded as on the wire. What differs from the CLI's way: no second process,
 * no port, and no type-check of the pack at start (`tsc` in `npm test` checks it). A process
 * serves one pack (so does @pulumi/policy): it is loaded once and shared.
 */
export function inProcessPolicyPack(packDir: string): PolicyPackClient {
    if (loaded) {
        if (loaded.packDir !== packDir) {
            throw new PolicyPackError(`this process already serves the policy pack in ${loaded.packDir}; one pack per process, as @pulumi/policy allows`);
        }
        return loaded.pack;
    }
    const pack = new PolicyPackClient(Promise.resolve().then(() => serveInProcess(packDir)));
    loaded = { packDir, pack };
    return pack;
}

function serveInProcess(packDir: string): AnalyzerService {
    // The gRPC library the pack's @pulumi/policy uses, whose server it builds.
    const policyDir = path.dirname(require.resolve("@pulumi/policy/package.json", { paths: [packDir] }));
    const { Server } = require(require.resolve("@grpc/grpc-js", { paths: [policyDir] })) as typeof grpc;
    const { addService, bindAsync } = Server.prototype;
    let served: { definition: Record<string, MethodDefinition>; handlers: Record<string, Handler> } | undefined;
    Server.prototype.addService = function (definition, handlers) {
        served = { definition: definition as never, handlers: handlers as never };
    };
    // Never listens: the handlers are called directly (and it prints no port).
    Server.prototype.bindAsync = function () {};
    const cwd = process.cwd();
    try {
        // @pulumi/policy reads the pack's version from package.json in the working directory.
        process.chdir(packDir);
        require(packDir);
    } finally {
        process.chdir(cwd);
        Object.assign(Server.prototype, { addService, bindAsync });
    }
    if (!served) {
        throw new PolicyPackError(`the policy pack in ${packDir} served no analyzer: its entry point must construct a PolicyPack`);
    }
    const { definition, handlers } = served;
    const method =
        <Req, Res>(name: string) =>
        (request: Req): Promise<Res> => {
            const wire = definition[name];
            return new Promise((resolve, reject) =>
                handlers[name]({ request: wire.requestDeserialize(wire.requestSerialize(request)) }, (error, response) =>
                    error ? reject(new PolicyPackError(`${name}: ${error.message}`)) : resolve(wire.responseDeserialize(wire.responseSerialize(response)) as Res),
                ),
            );
        };
    return {
        getAnalyzerInfo: method("getAnalyzerInfo"),
        configure: method("configure"),
        configureStack: method("configureStack"),
        analyze: method("analyze"),
        analyzeStack: method("analyzeStack"),
    };
}
