import { MockMonitor } from "@pulumi/pulumi/runtime/mocks";
import { specialSecretSig, specialSigKey } from "@pulumi/pulumi/runtime/rpc";
import { Struct } from "google-protobuf/google/protobuf/struct_pb";

/** One resource registration, as the engine would receive it. */
export interface RegisteredResource {
    readonly urn: string;
    readonly type: string;
    readonly name: string;
    /** Custom resources are real objects; the others are components that group them. */
    readonly custom: boolean;
    readonly parent: string;
    /** The inputs as serialized for the engine: secrets stay wrapped in Pulumi's secret envelope. */
    readonly inputs: Record<string, unknown>;
    readonly options: {
        readonly protect: boolean;
        readonly retainOnDelete: boolean;
        readonly deleteBeforeReplace: boolean;
        readonly ignoreChanges: string[];
        readonly import?: string;
        readonly dependsOn: string[];
    };
}

/** The parts of the gRPC RegisterResourceResponse read and changed here. */
interface RegisterResponse {
    getUrn(): string;
    getObject(): Struct | undefined;
    setObject(value: Struct): void;
}

/** Wraps each of `keys` present in `state` in Pulumi's secret envelope, as the engine does for `additionalSecretOutputs`. */
function markSecret(state: Record<string, unknown>, keys: readonly string[]): Record<string, unknown> {
    const isSecret = (value: unknown) => typeof value === "object" && value !== null && (value as Record<string, unknown>)[specialSigKey] === specialSecretSig;
    return Object.fromEntries(
        Object.entries(state).map(([key, value]) => [key, keys.includes(key) && !isSecret(value) ? { [specialSigKey]: specialSecretSig, value } : value]),
    );
}

/**
 * Pulumi's mock monitor, which also keeps every registration with its resource options (the mocks'
 * `newResource` sees neither the options nor which values are secret), and keeps the outputs a
 * resource declares secret (`additionalSecretOutputs`) secret, which MockMonitor leaves to the engine.
 */
export class RecordingMonitor extends MockMonitor {
    readonly registered: RegisteredResource[] = [];
    private readonly urns = new Set<string>();

    // The request and callback are gRPC objects; MockMonitor declares them loosely too.
    override registerResource(request: any, callback: (error: any, response: any) => void): Promise<void> {
        return super.registerResource(request, (error: unknown, response: RegisterResponse | undefined) => {
            const secretOutputs: string[] = request.getAdditionalsecretoutputsList();
            if (!error && response && secretOutputs.length > 0) {
                response.setObject(Struct.fromJavaScript(markSecret(response.getObject()?.toJavaScript() ?? {}, secretOutputs) as never));
            }
            if (!error && response && this.urns.has(response.getUrn())) {
                // The engine refuses a second resource of the same type and name; so does the plan.
                error = new Error(`Duplicate resource URN '${response.getUrn()}'; try giving it a unique name`);
            }
            if (!error && response) {
                this.urns.add(response.getUrn());
                this.registered.push({
                    urn: response.getUrn(),
                    type: request.getType(),
                    name: request.getName(),
                    custom: request.getCustom(),
                    parent: request.getParent(),
                    inputs: request.getObject()?.toJavaScript() ?? {},
                    options: {
                        protect: request.getProtect() === true,
                        retainOnDelete: request.getRetainondelete() === true,
                        deleteBeforeReplace: request.getDeletebeforereplace(),
                        ignoreChanges: request.getIgnorechangesList(),
                        import: request.getImportid() || undefined,
                        dependsOn: request.getDependenciesList(),
                    },
                });
            }
            callback(error, response);
        });
    }
}
