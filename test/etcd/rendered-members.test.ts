// The mapping from a rendered StatefulSet to local member specs: Kubernetes'
// own rules for env, $(VAR) and secret volumes, and nothing mapped beyond the stand-ins.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { findManifest, renderedPlan } from "../rendered-plan";
import { makeMemberSecrets } from "./stack-secrets";
import { expandKubernetesReferences, manifestConfigMaps, membersFromStatefulSet } from "./rendered-members";

const IPS = ["127.0.0.41", "127.0.0.42", "127.0.0.43"];
let dataRoot: string;
/** The stand-in of Secret db-tls: one file per key, one key the volume does not list. */
let secretDir: string;
beforeAll(() => {
  dataRoot = mkdtempSync(path.join(os.tmpdir(), "rendered-members-"));
  secretDir = path.join(dataRoot, "stand-ins", "db-tls");
  mkdirSync(secretDir, { recursive: true });
  for (const key of ["tls.crt", "ca.crt", "unlisted.key"]) writeFileSync(path.join(secretDir, key), `content of ${key}`);
});
afterAll(() => rmSync(dataRoot, { recursive: true, force: true }));

const tlsVolume = {
  name: "tls",
  secret: { secretName: "db-tls", defaultMode: 0o440, items: [{ key: "tls.crt", path: "certs/server.crt" }, { key: "ca.crt", path: "ca.crt", mode: 0o400 }] },
};

/** A small StatefulSet in the shape the component renders. */
function statefulSet(
  env: object[],
  extra: { command?: string[]; args?: string[]; replicas?: number; mounts?: object[]; volumes?: object[] } = {},
) {
  return {
    apiVersion: "apps/v1",
    kind: "StatefulSet",
    metadata: { name: "db", namespace: "ns" },
    spec: {
      replicas: extra.replicas ?? 2,
      serviceName: "db-hl",
      template: {
        spec: {
          containers: [
            { name: "sidecar", command: ["/bin/other"] },
            {
              name: "etcd",
              command: extra.command ?? ["/usr/local/bin/etcd"],
              args: extra.args,
              env,
              volumeMounts: [{ name: "data", mountPath: "/var/lib/etcd" }, { name: "tls", mountPath: "/etc/etcd/tls", readOnly: true }, ...(extra.mounts ?? [])],
            },
          ],
          volumes: [tlsVolume, ...(extra.volumes ?? [])],
        },
      },
      volumeClaimTemplates: [{ metadata: { name: "data" } }],
    },
  };
}
const opts = () => ({ ips: IPS, dataRoot, binDir: "/opt/local-etcd/bin", secrets: { "db-tls": secretDir } });

describe("expandKubernetesReferences", () => {
  const vars = new Map([["A", "alpha"], ["B", "$(A)"]]);
  const lookup = (name: string) => vars.get(name);
  test.each([
    ["$(A)-x", "alpha-x"],
    ["$(A)$(A)", "alphaalpha"],
    ["$$(A)", "$(A)"], // escaped
    ["$$$(A)", "$alpha"],
    ["$(MISSING)", "$(MISSING)"], // unknown references stay as written
    ["$(A", "$(A"], // unterminated
    ["cost $5", "cost $5"], // a lone $ is literal
    ["$(B)", "$(A)"], // no second pass over a substituted value
    ["end$", "end$"],
  ])("%s -> %s", (input, expected) => {
    expect(expandKubernetesReferences(input, lookup)).toBe(expected);
  });
});

describe("membersFromStatefulSet", () => {
  test("resolves fieldRef per pod and expands references to earlier variables only", () => {
    const members = membersFromStatefulSet(
      statefulSet([
        { name: "LATE_REF", value: "$(POD_NAME)" }, // defined before POD_NAME: stays unexpanded
        { name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
        { name: "POD_NS", valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } } },
        { name: "ETCD_NAME", value: "$(POD_NAME)" },
        { name: "ESCAPED", value: "$$(POD_NAME)" },
        { name: "ETCD_X", value: "$(POD_NAME).$(POD_NS)" },
      ]),
      opts(),
    );
    expect(members.map((m) => [m.name, m.ip, m.ordinal])).toEqual([["db-0", IPS[0], 0], ["db-1", IPS[1], 1]]);
    expect(members[1].env).toEqual({
      LATE_REF: "$(POD_NAME)",
      POD_NAME: "db-1",
      POD_NS: "ns",
      ETCD_NAME: "db-1",
      ESCAPED: "$(POD_NAME)",
      ETCD_X: "db-1.ns",
    });
  });

  test("maps only pod DNS names, 0.0.0.0, the mounts and the binary; the rest passes through", () => {
    const members = membersFromStatefulSet(
      statefulSet(
        [
          { name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
          { name: "PEERS", value: "db-0=http://db-0.db-hl.ns.svc.cluster.local:2380,db-1=http://db-1.db-hl.ns.svc.example.org:2380" },
          { name: "SELF", value: "http://$(POD_NAME).db-hl.ns.svc.cluster.local:2379" },
          { name: "LISTEN", value: "http://0.0.0.0:2379,http://10.0.0.0:1,http://100.0.0.01:2" },
          { name: "CLIENT_SVC", value: "http://db.ns.svc.cluster.local:2379" }, // not a pod: unchanged
          { name: "OTHER_SVC", value: "db-0.other.ns.svc.cluster.local" }, // other service: unchanged
          { name: "PREFIXED", value: "xdb-0.db-hl.ns.svc.cluster.local" }, // not a whole name: unchanged
          { name: "DATA", value: "/var/lib/etcd/data" },
          { name: "MOUNT", value: "/var/lib/etcd" },
          { name: "NOT_MOUNT", value: "/var/lib/etcd2/x:/var/lib/etcd.bak" },
          { name: "CONFIG", value: "/etc/etcd/etcd.yaml" }, // not under a mount: unchanged
          { name: "BAD_FLAG", value: "definitely-not-a-bool" },
        ],
        { command: ["/usr/local/bin/etcd", "--data-dir=/var/lib/etcd/x"], args: ["--name=$(POD_NAME)", "--listen=http://0.0.0.0:1"] },
      ),
      opts(),
    );
    const m = members[1];
    expect(m.binary).toBe("/opt/local-etcd/bin/etcd");
    expect(m.dataDir).toBe(path.join(dataRoot, "db-1"));
    expect(statSync(m.dataDir).isDirectory()).toBe(true);
    expect(m.args).toEqual([`--data-dir=${m.dataDir}/x`, "--name=db-1", `--listen=http://${IPS[1]}:1`]);
    expect(m.env.PEERS).toBe(`db-0=http://${IPS[0]}:2380,db-1=http://${IPS[1]}:2380`);
    expect(m.env.SELF).toBe(`http://${IPS[1]}:2379`);
    expect(m.env.LISTEN).toBe(`http://${IPS[1]}:2379,http://10.0.0.0:1,http://100.0.0.01:2`);
    expect(m.env.CLIENT_SVC).toBe("http://db.ns.svc.cluster.local:2379");
    expect(m.env.OTHER_SVC).toBe("db-0.other.ns.svc.cluster.local");
    expect(m.env.PREFIXED).toBe("xdb-0.db-hl.ns.svc.cluster.local");
    expect(m.env.DATA).toBe(`${m.dataDir}/data`);
    expect(m.env.MOUNT).toBe(m.dataDir);
    expect(m.env.NOT_MOUNT).toBe("/var/lib/etcd2/x:/var/lib/etcd.bak");
    expect(m.env.CONFIG).toBe("/etc/etcd/etcd.yaml");
    expect(m.env.BAD_FLAG).toBe("definitely-not-a-bool");
  });

  test("projects a mounted secret volume per member as the kubelet does: the listed items, at their paths, with their modes", () => {
    const members = membersFromStatefulSet(statefulSet([{ name: "CERT", value: "/etc/etcd/tls/certs/server.crt" }], { args: ["--ca=/etc/etcd/tls/ca.crt"] }), opts());
    const folders = members.map((m) => path.dirname(path.dirname(m.env.CERT)));
    expect(new Set(folders).size).toBe(2); // one projection per pod
    for (const [i, m] of members.entries()) {
      expect(m.env.CERT).toBe(path.join(folders[i], "certs", "server.crt"));
      expect(m.args).toEqual([`--ca=${path.join(folders[i], "ca.crt")}`]);
      expect(readFileSync(m.env.CERT, "utf8")).toBe("content of tls.crt");
      expect(readFileSync(path.join(folders[i], "ca.crt"), "utf8")).toBe("content of ca.crt");
      expect(readdirSync(folders[i]).sort()).toEqual(["ca.crt", "certs"]); // the unlisted key stays out
      expect(statSync(m.env.CERT).mode & 0o777).toBe(0o440); // defaultMode
      expect(statSync(path.join(folders[i], "ca.crt")).mode & 0o777).toBe(0o400); // the item's own mode
    }
  });

  test("projects a secret volume without items as the whole Secret, one file per key", () => {
    const whole = { mounts: [{ name: "whole", mountPath: "/etc/whole" }], volumes: [{ name: "whole", secret: { secretName: "db-tls" } }] };
    const [member] = membersFromStatefulSet(statefulSet([{ name: "KEY", value: "/etc/whole/unlisted.key" }], whole), opts());
    expect(readdirSync(path.dirname(member.env.KEY)).sort()).toEqual(["ca.crt", "tls.crt", "unlisted.key"]);
    expect(readFileSync(member.env.KEY, "utf8")).toBe("content of unlisted.key");
    expect(statSync(member.env.KEY).mode & 0o777).toBe(0o644); // the kubelet's default mode
  });

  test("maps another volume only to the folder given for it", () => {
    const scratch = { mounts: [{ name: "scratch", mountPath: "/scratch" }], volumes: [{ name: "scratch", emptyDir: {} }] };
    const [member] = membersFromStatefulSet(statefulSet([{ name: "TMP", value: "/scratch/x" }], scratch), { ...opts(), volumes: { scratch: "/local/scratch" } });
    expect(member.env.TMP).toBe("/local/scratch/x");
  });

  test("refuses a mounted volume it has no stand-in for, naming it", () => {
    expect(() => membersFromStatefulSet(statefulSet([]), { ...opts(), secrets: {} })).toThrow(/volume "tls" \(Secret db-tls\) has no local stand-in/);
    expect(() => membersFromStatefulSet(statefulSet([]), { ...opts(), secrets: { "db-tls": path.join(dataRoot, "empty") } })).toThrow(/Secret db-tls has no key tls\.crt/);
    const scratch = { mounts: [{ name: "scratch", mountPath: "/scratch" }], volumes: [{ name: "scratch", emptyDir: {} }] };
    expect(() => membersFromStatefulSet(statefulSet([], scratch), opts())).toThrow(/mounts volume "scratch" at \/scratch, which has no local stand-in/);
    const subPath = { mounts: [{ name: "tls", mountPath: "/etc/ca.crt", subPath: "ca.crt" }] };
    expect(() => membersFromStatefulSet(statefulSet([], subPath), opts())).toThrow(/mounts volume "tls" at \/etc\/ca\.crt with a subPath/);
  });

  test("refuses what it cannot stand in for", () => {
    const podName = { name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } };
    expect(() => membersFromStatefulSet(statefulSet([{ name: "IP", valueFrom: { fieldRef: { fieldPath: "status.podIP" } } }]), opts())).toThrow(/IP: fieldRef status.podIP/);
    expect(() => membersFromStatefulSet(statefulSet([{ name: "S", valueFrom: { secretKeyRef: { name: "s", key: "k" } } }]), opts())).toThrow(/S: valueFrom secretKeyRef/);
    expect(() => membersFromStatefulSet(statefulSet([podName, { name: "P", value: "db-2.db-hl.ns.svc.cluster.local" }]), opts())).toThrow(/names pod db-2, but the StatefulSet has 2 replicas/);
    expect(() => membersFromStatefulSet(statefulSet([], { replicas: 4 }), opts())).toThrow(/4 replicas need 4 ips/);
    expect(() => membersFromStatefulSet(statefulSet([]), { ...opts(), ips: ["10.0.0.1", "127.0.0.2"] })).toThrow(/not a loopback/);
    expect(() => membersFromStatefulSet(statefulSet([], { command: [] }), opts())).toThrow(/no command/);
  });

  test("the rendered prod StatefulSet maps to members that reach only loopback addresses", () => {
    const { manifests, plan } = renderedPlan();
    const sts = findManifest(manifests, "StatefulSet", "apisix-etcd");
    const { secrets } = makeMemberSecrets(path.join(dataRoot, "prod-secrets"), { manifests, resources: plan.resources }, IPS);
    const members = membersFromStatefulSet(sts, { ...opts(), secrets, configMaps: manifestConfigMaps(manifests) });
    expect(members).toHaveLength(sts.spec.replicas);
    for (const m of members) {
      const values = [...Object.values(m.env), ...m.args].join(" ");
      // Nothing left that would need cluster DNS, a wildcard bind, or the pod's filesystem.
      expect(values).not.toMatch(/\.svc\b|0\.0\.0\.0|\$\(|\/var\/lib\/etcd|\/etc\/etcd/);
      const hosts = [...values.matchAll(/https?:\/\/([^:/,\s]+)/g)].map((match) => match[1]);
      expect(hosts.length).toBeGreaterThan(0);
      expect(hosts.every((host) => IPS.includes(host))).toBe(true);
      expect(m.env.ETCD_NAME).toBe(m.name);
      // The declared file's settings, its duration as the flag takes it, and a static bootstrap of all replicas.
      expect(m.env.ETCD_EXPERIMENTAL_CORRUPT_CHECK_TIME).toBe("300s");
      expect(m.env.ETCD_INITIAL_CLUSTER.split(",")).toHaveLength(sts.spec.replicas);
      expect(m.args.some((arg) => arg.startsWith("--config-file"))).toBe(false);
    }
  });
});
