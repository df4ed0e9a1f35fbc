import { MockMonitor } from "@pulumi/pulumi/runtime/mocks";

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

/**
 * Pulumi's mock monitor, which also keeps every registration with its resource options (the mocks'
 * `newResource` sees neither the options nor which values are secret).
 */
export class RecordingMonitor extends MockMonitor {
    readonly registered: RegisteredResource[] = [];

    // The request and callback are gRPC objects; MockMonitor declares them loosely too.
    override registerResource(request: any, callback: (error: any, response: any) => void): Promise<void> {
        return super.registerResource(request, (error: unknown, response: { getUrn(): string } | undefined) => {
            if (!error && response) {
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
