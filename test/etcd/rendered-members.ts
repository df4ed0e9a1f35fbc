// Turns a rendered etcd StatefulSet into member specs for LocalCluster, so that
// the real-etcd tests run the members exactly as Kubernetes would start them:
// the etcd container's command, args and env AS RENDERED, with
//   - `valueFrom.fieldRef` resolved for the member's pod (`<sts>-<ordinal>`),
//   - `$(VAR)` references expanded the way the kubelet expands them,
// and then only these local stand-ins for what the cluster provides:
//   - each pod DNS name `<pod>.<serviceName>.<namespace>.svc.<domain>` -> that
//     member's loopback IP (the headless Service's DNS record),
//   - the wildcard listen address 0.0.0.0 -> the member's own loopback IP (all
//     members share the ports, so each must bind its own address),
//   - each mount path (as a path prefix) -> a local folder: the data volume's
//     -> a folder per member under `dataRoot` (the PersistentVolume); a secret
//     volume's -> its Secret's stand-in (`secrets`) projected per member as the
//     kubelet projects it; any other volume's -> the folder `volumes` names.
//     A mounted volume with none of these throws: no cluster path passes through,
//   - the command's binary -> the same-named binary in `binDir`.
// Everything else passes through unchanged: a variable or flag etcd rejects
// makes the member fail, and so the test.
import { mkdirSync } from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";
import { fileFlagValues } from "../../policies/etcd-members";
import type { MemberSpec } from "./local-cluster";
import { expandKubernetesReferences } from "../pod-sandbox/reference-expansion";
import { localizePaths, projectSecretVolume, type PodVolume, type SecretStandIns } from "./pod-volumes";

// The backup steps (test/backup/pod-steps.ts) import the expansion from here.
export { expandKubernetesReferences };

export interface RenderedMembersOptions {
  /** One loopback address (127.x.y.z) per ordinal; at least `spec.replicas` of them. */
  ips: string[];
  /** Each member's data volume becomes `<dataRoot>/<pod name>` (created here). */
  dataRoot: string;
  /** Folder holding the local etcd binaries. */
  binDir: string;
  /** Container to read; default: the one named "etcd", else the only one. */
  containerName?: string;
  /** Stand-ins of the Secrets the container's secret volumes project (see pod-volumes.ts). */
  secrets?: SecretStandIns;
  /** Volume name -> local folder, for mounted volumes that are neither claim templates nor secrets. */
  volumes?: Readonly<Record<string, string>>;
  /**
   * The rendered manifests' ConfigMaps (name -> data), for members that read the configuration file the
   * stack declares in one (`--config-file`). Here that file becomes the ETCD_* variables of the same
   * settings, and the start keys the member-join step would add become a static bootstrap of all
   * replicas: the loopback approximation the suites not yet in the pod sandbox run on.
   */
  configMaps?: Readonly<Record<string, Readonly<Record<string, string>>>>;
}

/** A LocalCluster member spec plus the binary the rendered command runs. */
export interface RenderedMemberSpec extends MemberSpec {
  /** The local binary standing in for the command's first element. */
  binary: string;
  /** Ordinal of the pod in the StatefulSet. */
  ordinal: number;
}

// Loose shapes of the parts of a rendered manifest read here.
interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { fieldRef?: { fieldPath?: string }; [source: string]: unknown };
}
interface ContainerManifest {
  name?: string;
  command?: string[];
  args?: string[];
  env?: EnvVar[];
  volumeMounts?: { name: string; mountPath: string; subPath?: string }[];
}
interface StatefulSetManifest {
  kind?: string;
  metadata?: { name?: string; namespace?: string };
  spec?: {
    replicas?: number;
    serviceName?: string;
    template?: { spec?: { containers?: ContainerManifest[]; volumes?: (PodVolume & { configMap?: { name: string; items?: { key: string; path: string }[] } })[] } };
    volumeClaimTemplates?: { metadata?: { name?: string } }[];
  };
}

/** The value the downward API gives `fieldPath` in pod `podName`; only what a StatefulSet pod knows up front. */
function fieldRefValue(fieldPath: string | undefined, podName: string, namespace: string, variable: string): string {
  switch (fieldPath) {
    case "metadata.name":
      return podName;
    case "metadata.namespace":
      return namespace;
    default:
      throw new Error(`env ${variable}: fieldRef ${fieldPath} has no local stand-in (supported: metadata.name, metadata.namespace)`);
  }
}

/** The container's env with valueFrom resolved and references expanded, in order, as the kubelet does. */
function resolveEnv(env: readonly EnvVar[], podName: string, namespace: string): Map<string, string> {
  const resolved = new Map<string, string>();
  for (const variable of env) {
    let value: string;
    if (variable.valueFrom !== undefined) {
      const sources = Object.keys(variable.valueFrom);
      if (sources.length !== 1 || sources[0] !== "fieldRef") {
        throw new Error(`env ${variable.name}: valueFrom ${sources.join(", ")} has no local stand-in (only fieldRef)`);
      }
      value = fieldRefValue(variable.valueFrom.fieldRef?.fieldPath, podName, namespace, variable.name);
    } else {
      // Only variables defined earlier in the list are visible to a reference.
      value = expandKubernetesReferences(variable.value ?? "", (name) => resolved.get(name));
    }
    resolved.set(variable.name, value);
  }
  return resolved;
}

const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** Mount path -> local folder for every volume the container mounts in pod `podName`; throws on one without a stand-in. */
function localMounts(
  sts: StatefulSetManifest,
  container: ContainerManifest,
  claimNames: ReadonlySet<string | undefined>,
  podName: string,
  dataDir: string,
  opts: RenderedMembersOptions,
): Map<string, string> {
  const podVolumes = sts.spec?.template?.spec?.volumes ?? [];
  return new Map(
    (container.volumeMounts ?? []).map((mount) => {
      const where = `container ${container.name} mounts volume "${mount.name}" at ${mount.mountPath}`;
      if (mount.subPath !== undefined) throw new Error(`${where} with a subPath, which has no local stand-in`);
      if (claimNames.has(mount.name)) return [mount.mountPath, dataDir];
      const local = opts.volumes?.[mount.name];
      if (local !== undefined) return [mount.mountPath, local];
      const volume = podVolumes.find((v) => v.name === mount.name);
      if (volume?.secret === undefined) throw new Error(`${where}, which has no local stand-in`);
      // Per pod, as the kubelet projects it: a member must not read another's files.
      return [mount.mountPath, projectSecretVolume(volume, opts.secrets ?? {}, path.join(opts.dataRoot, "secret-volumes", podName, mount.name))];
    }),
  );
}

function etcdContainer(sts: StatefulSetManifest, name: string | undefined): ContainerManifest {
  const containers = sts.spec?.template?.spec?.containers ?? [];
  const container =
    name !== undefined
      ? containers.find((c) => c.name === name)
      : (containers.find((c) => c.name === "etcd") ?? (containers.length === 1 ? containers[0] : undefined));
  if (!container) {
    throw new Error(`StatefulSet ${sts.metadata?.name}: no container ${name ?? '"etcd"'} among ${containers.map((c) => c.name).join(", ")}`);
  }
  return container;
}

/** The ConfigMaps of rendered manifests, name -> data, for {@link RenderedMembersOptions.configMaps}. */
export function manifestConfigMaps(manifests: readonly { kind: string; metadata: { name?: string }; data?: Record<string, string> }[]): Record<string, Record<string, string>> {
  return Object.fromEntries(manifests.filter((m) => m.kind === "ConfigMap").map((m) => [m.metadata.name!, m.data ?? {}]));
}

const variableOf = (flag: string): string => `ETCD_${flag.toUpperCase().replace(/-/g, "_")}`;
/** A file's value as its flag takes it: a list comma-separated; a duration (`*-time`, nanoseconds in a file) in seconds. */
const flagText = (key: string, value: unknown): string =>
  Array.isArray(value) ? value.join(",") : typeof value === "number" && key.endsWith("-time") ? `${value / 1e9}s` : String(value);

/**
 * The ETCD_* variables of the settings in the configuration file the container reads (the ConfigMap the
 * pod mounts under that file's name), `$(POD_NAME)` being `podName`; undefined without such a file.
 */
function fileVariables(sts: StatefulSetManifest, container: ContainerManifest, podName: string, opts: RenderedMembersOptions): Record<string, string> | undefined {
  const file = (container.args ?? []).find((arg) => arg.startsWith("--config-file="))?.slice("--config-file=".length);
  if (file === undefined) return undefined;
  const fileName = path.posix.basename(file);
  const volume = (sts.spec?.template?.spec?.volumes ?? []).find((v) => v.configMap?.items?.some((item) => item.path === fileName));
  const key = volume?.configMap?.items?.find((item) => item.path === fileName)?.key;
  const text = volume && key !== undefined ? opts.configMaps?.[volume.configMap!.name]?.[key] : undefined;
  if (text === undefined) throw new Error(`container ${container.name} reads ${file}: pass the manifests' ConfigMaps (configMaps) holding it`);
  const settings = parse(text.split("$(POD_NAME)").join(podName)) as Record<string, unknown>;
  return Object.fromEntries(fileFlagValues(settings).map(([flag, value]) => [variableOf(flag), flagText(flag, value)]));
}

/**
 * Member specs (one per replica, ordinal order) for LocalCluster from a rendered StatefulSet.
 * Pass `members[0].binary` as LocalCluster's `etcdBinary`.
 */
export function membersFromStatefulSet(statefulSet: object, opts: RenderedMembersOptions): RenderedMemberSpec[] {
  const sts = statefulSet as StatefulSetManifest;
  const stsName = sts.metadata?.name;
  const namespace = sts.metadata?.namespace;
  const serviceName = sts.spec?.serviceName;
  const replicas = sts.spec?.replicas ?? 1;
  if (sts.kind !== undefined && sts.kind !== "StatefulSet") throw new Error(`expected a StatefulSet, got ${sts.kind}`);
  if (!stsName || !namespace || !serviceName) {
    throw new Error(`StatefulSet needs metadata.name, metadata.namespace and spec.serviceName (got ${stsName}, ${namespace}, ${serviceName})`);
  }
  if (opts.ips.length < replicas) throw new Error(`${replicas} replicas need ${replicas} ips, got ${opts.ips.length}`);
  for (const ip of opts.ips) {
    if (!/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(ip)) throw new Error(`${ip} is not a loopback (127.0.0.0/8) address`);
  }

  const container = etcdContainer(sts, opts.containerName);
  if (!container.command || container.command.length === 0) {
    throw new Error(`container ${container.name} has no command: the image's entrypoint cannot be mapped to a local binary`);
  }
  const claimNames = new Set((sts.spec?.volumeClaimTemplates ?? []).map((claim) => claim.metadata?.name));
  if (!(container.volumeMounts ?? []).some((mount) => claimNames.has(mount.name))) {
    throw new Error(`container ${container.name} mounts no volume of the claim templates`);
  }

  const podName = (ordinal: number): string => `${stsName}-${ordinal}`;
  // `<sts>-<n>.<service>.<namespace>.svc.<any domain>`, not preceded/followed by a name character.
  const podHost = new RegExp(
    `(?<![A-Za-z0-9.-])${escapeRegExp(stsName)}-(\\d+)\\.${escapeRegExp(serviceName)}\\.${escapeRegExp(namespace)}\\.svc(?:\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)+(?![A-Za-z0-9-])`,
    "g",
  );

  return Array.from({ length: replicas }, (_, ordinal): RenderedMemberSpec => {
    const name = podName(ordinal);
    const ip = opts.ips[ordinal];
    const dataDir = path.join(opts.dataRoot, name);
    mkdirSync(dataDir, { recursive: true }); // the volume exists before the container starts
    // A configuration file's folder is not mounted here: its settings become variables (fileVariables).
    const configFile = (container.args ?? []).find((arg) => arg.startsWith("--config-file="))?.slice("--config-file=".length);
    const mounted = configFile === undefined ? container : { ...container, volumeMounts: (container.volumeMounts ?? []).filter((m) => m.mountPath !== path.posix.dirname(configFile)) };
    const mounts = localMounts(sts, mounted, claimNames, name, dataDir, opts);

    const localize = (text: string): string => {
      let out = text.replace(podHost, (host, n: string) => {
        const target = Number(n);
        if (target >= replicas) throw new Error(`${host} names pod ${podName(target)}, but the StatefulSet has ${replicas} replicas`);
        return opts.ips[target];
      });
      out = out.replace(/(?<![\d.])0\.0\.0\.0(?![\d.])/g, ip);
      return localizePaths(out, mounts);
    };

    const env = resolveEnv(container.env ?? [], name, namespace);
    const fromFile = fileVariables(sts, container, name, opts);
    if (fromFile) {
      const peerUrl = (member: string) => fileVariables(sts, container, member, opts)!.ETCD_INITIAL_ADVERTISE_PEER_URLS;
      Object.entries({
        ...fromFile,
        ETCD_INITIAL_CLUSTER: Array.from({ length: replicas }, (_, i) => `${podName(i)}=${peerUrl(podName(i))}`).join(","),
        ETCD_INITIAL_CLUSTER_STATE: "new",
        ETCD_INITIAL_CLUSTER_TOKEN: `${stsName}-loopback`,
      }).forEach(([key, value]) => env.set(key, value));
    }
    const lookup = (variable: string): string | undefined => env.get(variable);
    const [command, ...commandArgs] = [...container.command!, ...(container.args ?? []).filter((arg) => !(fromFile && arg.startsWith("--config-file=")))].map((part) =>
      expandKubernetesReferences(part, lookup),
    );
    return {
      name,
      ordinal,
      ip,
      dataDir,
      binary: path.join(opts.binDir, path.basename(command)),
      args: commandArgs.map(localize),
      env: Object.fromEntries([...env].map(([key, value]) => [key, localize(value)])),
    };
  });
}
