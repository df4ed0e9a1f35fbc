import type * as grpc from "@grpc/grpc-js";
import * as path from "path";
import { AnalyzerService, PolicyPackClient, PolicyPackError } from "./policy-pack";

type Handler = (call: { request: unknown }, callback: (error: Error | null | undefined, response?: unknown) => void) => unknown;

let loaded: { packDir: string; pack: PolicyPackClient } | undefined;

/**
 * The policy pack in `packDir`, loaded into this process: its own entry point is required as
 * `run-policy-pack` requires it (from the pack's folder), and the analyzer service it registers
 * with its gRPC server is called directly, with the same protobuf messages, instead of over a
 * socket. What differs from the CLI's way: no second process, no port, no encoding of the
 * messages into bytes (the resources' inputs come out of protobuf Structs already, from the mock
 * monitor, so they survive it unchanged), and no type-check of the pack at start (`tsc` in `npm
 * test` checks it). A process serves one pack (so does @pulumi/policy): it is loaded once and shared.
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
    let handlers: Record<string, Handler> | undefined;
    Server.prototype.addService = function (_definition, implementation) {
        handlers = implementation as never;
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
    if (!handlers) {
        throw new PolicyPackError(`the policy pack in ${packDir} served no analyzer: its entry point must construct a PolicyPack`);
    }
    const served = handlers;
    const method =
        <Req, Res>(name: string) =>
        (request: Req): Promise<Res> =>
            new Promise((resolve, reject) =>
                served[name]({ request }, (error, response) => (error ? reject(new PolicyPackError(`${name}: ${error.message}`)) : resolve(response as Res))),
            );
    return {
        getAnalyzerInfo: method("getAnalyzerInfo"),
        configure: method("configure"),
        configureStack: method("configureStack"),
        analyze: method("analyze"),
        analyzeStack: method("analyzeStack"),
    };
}
