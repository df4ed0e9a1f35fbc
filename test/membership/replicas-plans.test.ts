// `replicas` changes what `pulumi up` does to the StatefulSet's count and the scale-down Job (and the
// budget, claims and alerts), never what a member runs: on the whole stack's declarations (prod 3 -> 5,
// dev 1 -> 3) the pod template and the ConfigMaps and Secrets the pods read are the same, so the members
// that stay are not restarted (the sandbox shows it: same pid). The member certificate gains the new
// members' names only: it is issued again into the same Secret, which etcd reads at each TLS handshake.
import { memberCertificateNames } from "../etcd/stack-secrets";
import { findManifest } from "../rendered-plan";
import { declareStacks, type DeclaredStack } from "../stack-under-mocks";

jest.setTimeout(120_000);

const PAIRS = [
    { stackFile: "Pulumi.prod.yaml", from: 3, to: 5 },
    { stackFile: "Pulumi.dev.yaml", from: 1, to: 3 },
];
let stacks: DeclaredStack[];

beforeAll(async () => {
    stacks = await declareStacks(PAIRS.flatMap(({ stackFile, from, to }) => [from, to].map((replicas) => ({ stackFile, changes: { "apisix-etcd:replicas": replicas } }))));
    for (const stack of stacks) expect(stack.error).toBeUndefined();
});

/** What the members' pods are made of: their template, and the objects it reads. */
function memberInputs(stack: DeclaredStack) {
    const statefulSet = findManifest(stack.manifests, "StatefulSet", "apisix-etcd");
    return {
        template: statefulSet.spec.template,
        statefulSet: { ...statefulSet.spec, replicas: undefined },
        configMaps: stack.manifests.filter((m) => m.kind === "ConfigMap"),
        secrets: stack.manifests.filter((m) => m.kind === "Secret"),
        certificate: memberCertificateNames(stack),
    };
}

describe.each(PAIRS.map((pair, i) => ({ ...pair, i })))("$stackFile with replicas $from -> $to", ({ from, to, i }) => {
    test("changes the StatefulSet's count and the scale-down Job's", () => {
        const [before, after] = [stacks[2 * i], stacks[2 * i + 1]];
        expect(findManifest(before.manifests, "StatefulSet", "apisix-etcd").spec.replicas).toBe(from);
        expect(findManifest(after.manifests, "StatefulSet", "apisix-etcd").spec.replicas).toBe(to);
        const replicasOf = (stack: DeclaredStack) => findManifest(stack.manifests, "Job", "apisix-etcd-scale-down").spec.template.spec.containers[0].env.find((e: { name: string }) => e.name === "REPLICAS").value;
        expect([replicasOf(before), replicasOf(after)]).toEqual([String(from), String(to)]);
    });

    test("never the pod template or the ConfigMaps and Secrets it reads; the certificate only gains the new members' names", () => {
        const [before, after] = [stacks[2 * i], stacks[2 * i + 1]].map(memberInputs);
        expect(after.template).toEqual(before.template);
        expect(after.statefulSet).toEqual(before.statefulSet);
        expect(after.configMaps).toEqual(before.configMaps);
        expect(after.secrets).toEqual(before.secrets);
        const added = Array.from({ length: to - from }, (_, k) => `apisix-etcd-${from + k}.apisix-etcd-headless.etcd.svc.cluster.local`);
        expect(after.certificate.ips).toEqual(before.certificate.ips);
        expect([...after.certificate.dnsNames].sort()).toEqual([...before.certificate.dnsNames, ...added].sort());
        expect(before.configMaps.map((m) => m.metadata.name)).toContain("apisix-etcd-config");
        expect(before.secrets.map((m) => m.metadata.name)).toContain("apisix-etcd-tls");
    });
});
