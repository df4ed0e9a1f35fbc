import { changed, statefulSet } from "../test-support/fixtures";
import { runResourcePolicy } from "../test-support/run-policy";
import { memberResources } from "./member-resources";

describe("etcd-member-resources", () => {
    it("passes requests for CPU and memory with a memory limit", async () => {
        expect(await runResourcePolicy(memberResources, statefulSet())).toEqual([]);
    });

    it.each([
        ["limits.memory", (r: any) => delete r.limits],
        ["requests.cpu", (r: any) => delete r.requests.cpu],
        ["requests.memory", (r: any) => delete r.requests.memory],
        ["requests.cpu, requests.memory, limits.memory", (r: any) => Object.keys(r).forEach((key) => delete r[key])],
    ])("blocks a container without %s", async (missing, edit) => {
        const reported = await runResourcePolicy(memberResources, changed(statefulSet(), (p) => edit(p.spec.template.spec.containers[0].resources)));
        expect(reported).toEqual([expect.objectContaining({ message: `the etcd container has no ${missing}; set them under apisix-etcd:resources.` })]);
    });
});
