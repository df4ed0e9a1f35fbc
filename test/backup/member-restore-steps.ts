/**
 * The restore init containers of a rendered StatefulSet as local steps, one list per member,
 * mapped the way test/etcd/rendered-members.ts maps the etcd container (each pod's DNS name -> its
 * loopback IP, the data volume -> the member's folder under `dataRoot`, `$(POD_NAME)` and the
 * other downward-API values -> the member's), plus the pod's other volumes -> folders under
 * `scratchRoot` and each command's binary -> a local one of that name.
 */
import * as fs from "fs";
import * as path from "path";
import { membersFromStatefulSet } from "../etcd/rendered-members";
import { localizePaths, PodStep } from "./pod-steps";

export interface MemberRestoreStepsOptions {
    /** One loopback IP per member, as for the members themselves. */
    readonly ips: string[];
    /** Where the members' data volumes are (`<dataRoot>/<pod>`), as for the members themselves. */
    readonly dataRoot: string;
    /** Where the pods' other volumes go (`<scratchRoot>/<volume>`; the steps run one at a time). */
    readonly scratchRoot: string;
    /** Binary name -> local executable. */
    readonly binaries: Readonly<Record<string, string>>;
}

interface Container {
    name: string;
    args?: string[];
    env?: { name: string; value?: string }[];
    volumeMounts?: { name: string; mountPath: string }[];
}

/** The container with the paths of its volumes other than the data volume already local. */
function withLocalScratch(container: Container, claimNames: ReadonlySet<string>, scratchRoot: string): Container {
    const mounts = new Map(
        (container.volumeMounts ?? [])
            .filter((mount) => !claimNames.has(mount.name))
            .map((mount) => {
                const local = path.join(scratchRoot, mount.name);
                fs.mkdirSync(local, { recursive: true });
                return [mount.mountPath, local];
            }),
    );
    return {
        ...container,
        args: container.args?.map((arg) => localizePaths(arg, mounts)),
        env: container.env?.map((variable) => (variable.value === undefined ? variable : { ...variable, value: localizePaths(variable.value, mounts) })),
    };
}

export function memberRestoreSteps(statefulSet: any, options: MemberRestoreStepsOptions): PodStep[][] {
    const template = statefulSet.spec.template;
    const initContainers: Container[] = template.spec.initContainers ?? [];
    if (initContainers.length === 0) throw new Error("the StatefulSet's pods have no init containers: was the stack rendered with a restore?");
    const claimNames = new Set<string>((statefulSet.spec.volumeClaimTemplates ?? []).map((claim: any) => claim.metadata.name));
    // One container at a time, as if it were the pod's only one: rendered-members' mapping applies as is.
    const perContainer = initContainers.map((container) =>
        membersFromStatefulSet(
            {
                ...statefulSet,
                spec: { ...statefulSet.spec, template: { ...template, spec: { ...template.spec, containers: [withLocalScratch(container, claimNames, options.scratchRoot)] } } },
            },
            { ips: options.ips, dataRoot: options.dataRoot, binDir: "/", containerName: container.name },
        ),
    );
    return perContainer[0].map((_, ordinal) =>
        perContainer.map((members, index): PodStep => {
            const member = members[ordinal];
            const binary = options.binaries[path.basename(member.binary)];
            if (!binary) throw new Error(`init container ${initContainers[index].name} runs ${member.binary}, which has no local stand-in`);
            return { name: initContainers[index].name, binary, args: member.args, env: member.env };
        }),
    );
}
