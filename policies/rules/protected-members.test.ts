import { statefulSet } from "../test-support/fixtures";
import { runResourcePolicy } from "../test-support/run-policy";
import { protectedMembers } from "./protected-members";

describe("etcd-protected-members", () => {
    it("passes a protected StatefulSet and blocks an unprotected one in production only", async () => {
        expect(await runResourcePolicy(protectedMembers, statefulSet())).toEqual([]);
        const unprotected = { ...statefulSet(), protect: false };
        expect(await runResourcePolicy(protectedMembers, unprotected)).toEqual([
            expect.objectContaining({ enforcementLevel: "mandatory", message: expect.stringContaining("apisix-etcd:protect") }),
        ]);
        expect(await runResourcePolicy(protectedMembers, unprotected, { stack: "dev" })).toEqual([expect.objectContaining({ enforcementLevel: "advisory" })]);
    });
});
