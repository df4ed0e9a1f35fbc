import { findManifest, renderedPlan } from "../rendered-plan";
import { MemberPods } from "../pod-sandbox/member-pods";
import { PodSandbox } from "../pod-sandbox/pod-sandbox";
import { stackSecrets } from "../pod-sandbox/sandbox-secrets";
jest.setTimeout(120_000);
test("debug", async () => {
    const { manifests, plan } = renderedPlan("prod");
    const sts = findManifest(manifests, "StatefulSet", "apisix-etcd");
    const sandbox = await PodSandbox.create({ manifests, secrets: stackSecrets({ manifests, resources: plan.resources }).secrets });
    try {
        const pods = sandbox.statefulSet(sts);
        const members = new MemberPods(sandbox, pods);
        const t0 = Date.now();
        await members.firstDeploy(plan, 60_000).catch((e) => console.log(String(e).slice(0, 300)));
        console.log("bootstrap ms", Date.now() - t0);
        for (const p of sandbox.pods) for (const c of ["member-join", "membership", "etcd"]) console.log(`== ${p.name} ${c}\n` + p.logs(c).split("\n").slice(-12).join("\n"));
    } finally {
        await sandbox.close();
    }
});
