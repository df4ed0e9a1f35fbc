/**
 * Every key of the members' declared configuration file names a flag of the etcd binary the tests run,
 * and none of them is one etcd calls deprecated. etcd silently skips a key of its file that it does not
 * know (and only warns about an unknown ETCD_* variable), so a setting that a new etcd renamed or dropped
 * would otherwise go unnoticed (3.6 moves the `--experimental-*` flags to feature gates and new names;
 * 3.7 removes the old ones): run this suite with the new binaries (`ETCD_BIN_DIR`) before an upgrade.
 */
import { execFileSync } from "node:child_process";
import { parse } from "yaml";
import { fileFlagValues } from "../../policies/etcd-members";
import { findManifest, renderedPlan } from "../rendered-plan";
import { etcdBinaries } from "./binaries";

interface FlagHelp {
    readonly name: string;
    readonly description: string;
}

/** The flags `etcd --help` lists, each with the text below it. */
function helpFlags(help: string): Map<string, FlagHelp> {
    const flags = new Map<string, FlagHelp>();
    const lines = help.split("\n");
    lines.forEach((line, i) => {
        const match = /^ {2}--([a-z0-9-]+)\b/.exec(line);
        if (!match) return;
        const rest = lines.slice(i + 1);
        const end = rest.findIndex((next) => !next.startsWith("    "));
        flags.set(match[1], { name: match[1], description: rest.slice(0, end === -1 ? undefined : end).join(" ") });
    });
    return flags;
}

/** The flag each key of a configuration file stands for, as the policy pack reads the file. */
const fileFlags = (file: Record<string, unknown>): string[] => fileFlagValues(file).map(([flag]) => flag);

/** The flags among `names` that are no current flag of etcd: unknown, or deprecated. */
function unusableFlags(names: readonly string[], flags: ReadonlyMap<string, FlagHelp>): string[] {
    return names.filter((name) => {
        const flag = flags.get(name);
        return flag === undefined || /deprecated/i.test(flag.description);
    });
}

let flags: Map<string, FlagHelp>;
let version: string;
let declaredFlags: string[];

beforeAll(async () => {
    const { etcd } = await etcdBinaries();
    flags = helpFlags(execFileSync(etcd, ["--help"], { encoding: "utf8", timeout: 10_000, stdio: ["ignore", "pipe", "pipe"] }));
    version = execFileSync(etcd, ["--version"], { encoding: "utf8", timeout: 10_000 });
    const declared = findManifest(renderedPlan().manifests, "ConfigMap", "apisix-etcd-config");
    declaredFlags = fileFlags(parse(declared.data["etcd.yaml"]));
});

test("the help of the etcd under test is read: its flags, with their descriptions", () => {
    expect(version).toMatch(/^etcd Version: 3\.5\.\d+$/m);
    expect(flags.size).toBeGreaterThan(80);
    expect(flags.get("quota-backend-bytes")?.description).toMatch(/backend/i);
    // The check sees what etcd itself calls deprecated, and what it does not know.
    expect(unusableFlags(["enable-v2", "no-such-setting", "data-dir"], flags)).toEqual(["enable-v2", "no-such-setting"]);
    expect(fileFlags({ "data-dir": "/d", "peer-transport-security": { "cert-file": "c", "client-cert-auth": true } })).toEqual(["data-dir", "peer-cert-file", "peer-client-cert-auth"]);
});

test("every key of the declared configuration file is a current flag of this etcd", () => {
    expect(declaredFlags.length).toBeGreaterThan(15);
    expect(declaredFlags).toEqual(expect.arrayContaining(["quota-backend-bytes", "peer-cert-file", "peer-client-cert-auth"]));
    expect(unusableFlags(declaredFlags, flags)).toEqual([]);
});
