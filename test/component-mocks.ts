/**
 * Declares components under Pulumi's mock runtime and returns what they registered, with the
 * resource options that only the engine sees (through the offline plan's RecordingMonitor).
 */
import * as pulumi from "@pulumi/pulumi";
import { declareUnderMocks as declareInStack } from "../plan/program-run";
import { RegisteredResource } from "../plan/recording-monitor";

export function declareUnderMocks(declare: () => void): Promise<RegisteredResource[]> {
    return declareInStack({ project: "apisix-etcd", stack: "test" }, declare);
}

/** The value of an output, once the mocks have resolved it. */
export function valueOf<T>(output: pulumi.Output<T>): Promise<T> {
    return new Promise((resolve) => output.apply((value) => resolve(value)));
}

/** The registered resources that are children of the component `type`/`name`, and that component's children's children. */
export function childrenOf(resources: readonly RegisteredResource[], type: string, name: string): RegisteredResource[] {
    const component = resources.find((r) => r.type === type && r.name === name);
    if (!component) {
        throw new Error(`no ${type} named ${name} among ${resources.map((r) => `${r.type}/${r.name}`).join(", ")}`);
    }
    const below = (urn: string): RegisteredResource[] => resources.filter((r) => r.parent === urn).flatMap((r) => [r, ...below(r.urn)]);
    return below(component.urn);
}

/** The one resource of `type` among `resources`; throws, listing them, otherwise. */
export function single(resources: readonly RegisteredResource[], type: string): RegisteredResource {
    const matches = resources.filter((r) => r.type === type);
    if (matches.length !== 1) {
        throw new Error(`expected one ${type}, found ${matches.length} among ${resources.map((r) => `${r.type}/${r.name}`).join(", ")}`);
    }
    return matches[0];
}
