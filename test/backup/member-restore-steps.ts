/**
 * The restore init containers of a rendered StatefulSet as local steps, one list per member,
 * mapped the way test/etcd/rendered-members.ts maps the etcd container (each pod's DNS name -> its
 * loopback IP, the data volume -> the member's folder under `dataRoot`, `$(POD_NAME)` and the
 * other downward-API values -> the member's), plus the pod's other volumes but secrets -> folders
 * under `scratchRoot` and each command's binary -> a local one of that name. A step that downloads from
 * GCS runs inside the GCS stand-in (fake-gcs.ts; its launcher must be on the steps' PATH) as an
 * identity holding `readerRole`.
 */
import * as fs from "fs";
import * as path from "path";
import { membersFromStatefulSet } from "../etcd/rendered-members";
import { gcsStep } from "./fake-gcs";
import type { PodStep } from "./pod-steps";

export interface MemberRestoreStepsOptions {
    /** One loopback IP per member, as for the members themselves. */
    readonly ips: string[];
    /** Where the members' data volumes are (`<dataRoot>/<pod>`), as for the members themselves. */
    readonly dataRoot: string;
    /** Where the pods' other volumes go (`<scratchRoot>/<volume>`; the steps run one at a time). */
    readonly scratchRoot: string;
    /** Binary name -> local executable. */
    readonly binaries: Readonly<Record<string, string>>;
    /** The members' role on the backup bucket; the stack grants `roles/storage.objectViewer`. */
    readonly readerRole?: string;
    /** Token requests the metadata server drops before it answers, in each member's download. */
    readonly tokenRefusals?: number;
}

export function memberRestoreSteps(statefulSet: any, options: MemberRestoreStepsOptions): PodStep[][] {
    const template = statefulSet.spec.template;
    // The restore's steps; the member-join step after them runs in the pod sandbox's tests (test/membership).
    const initContainers: { name: string }[] = (template.spec.initContainers ?? []).filter((c: { name: string }) => c.name.startsWith("restore"));
    if (initContainers.length === 0) throw new Error("the StatefulSet's pods have no restore steps: was the stack rendered with a restore?");
    const claimNames = new Set<string>((statefulSet.spec.volumeClaimTemplates ?? []).map((claim: any) => claim.metadata.name));
    // Secret volumes are not scratch: rendered-members refuses them here, as it has no stand-in.
    const scratch = Object.fromEntries(
        (template.spec.volumes ?? [])
            .filter((volume: { name: string; secret?: object }) => !claimNames.has(volume.name) && volume.secret === undefined)
            .map((volume: { name: string }) => {
                const local = path.join(options.scratchRoot, volume.name);
                fs.mkdirSync(local, { recursive: true });
                return [volume.name, local];
            }),
    );
    // One container at a time, as if it were the pod's only one: rendered-members' mapping applies as is.
    const perContainer = initContainers.map((container) =>
        membersFromStatefulSet(
            { ...statefulSet, spec: { ...statefulSet.spec, template: { ...template, spec: { ...template.spec, containers: [container] } } } },
            { ips: options.ips, dataRoot: options.dataRoot, binDir: "/", containerName: container.name, volumes: scratch },
        ),
    );
    return perContainer[0].map((_, ordinal) =>
        perContainer.map((members, index): PodStep => {
            const member = members[ordinal];
            const binary = options.binaries[path.basename(member.binary)];
            if (!binary) throw new Error(`init container ${initContainers[index].name} runs ${member.binary}, which has no local stand-in`);
            const step = { name: initContainers[index].name, binary, args: member.args, env: member.env };
            return step.env.SOURCE_URL?.startsWith("gs://")
                ? gcsStep(step, { role: options.readerRole ?? "roles/storage.objectViewer", tokenRefusals: options.tokenRefusals })
                : step;
        }),
    );
}
