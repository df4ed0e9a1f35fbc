/**
 * Every `ETCD_*` variable the rendered members get names a flag of the etcd binary the tests run, and
 * none of them is one etcd calls deprecated. etcd only warns about a variable it does not know, so a
 * setting that a new etcd renamed or dropped would otherwise go unnoticed (3.6 moves the
 * `--experimental-*` flags to feature gates and new names; 3.7 removes the old ones): run this suite
 * with the new binaries (`ETCD_BIN_DIR`) before an upgrade.
 */
import { execFileSync } from "node:child_process";
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

/** `ETCD_FOO_BAR` -> `foo-bar`, the flag etcd fills from that variable. */
const flagOf = (variable: string): string => variable.slice("ETCD_".length).toLowerCase().replace(/_/g, "-");

/** The variables among `variables` that are no current flag of etcd: unknown, or deprecated. */
function unusableVariables(variables: readonly string[], flags: ReadonlyMap<string, FlagHelp>): string[] {
    return variables.filter((variable) => {
        const flag = flags.get(flagOf(variable));
        return flag === undefined || /deprecated/i.test(flag.description);
    });
}

let flags: Map<string, FlagHelp>;
let version: string;
let renderedVariables: string[];

beforeAll(async () => {
    const { etcd } = await etcdBinaries();
    flags = helpFlags(execFileSync(etcd, ["--help"], { encoding: "utf8", timeout: 10_000, stdio: ["ignore", "pipe", "pipe"] }));
    version = execFileSync(etcd, ["--version"], { encoding: "utf8", timeout: 10_000 });
    const sts = findManifest(renderedPlan().manifests, "StatefulSet", "apisix-etcd");
    const containers = (sts.spec as { template: { spec: { containers: { name: string; env?: { name: string }[] }[] } } }).template.spec.containers;
    renderedVariables = containers
        .find((c) => c.name === "etcd")!
        .env!.map((e) => e.name)
        .filter((name) => name.startsWith("ETCD_"));
});

test("the help of the etcd under test is read: its flags, with their descriptions", () => {
    expect(version).toMatch(/^etcd Version: 3\.5\.\d+$/m);
    expect(flags.size).toBeGreaterThan(80);
    expect(flags.get("quota-backend-bytes")?.description).toMatch(/backend/i);
    // The check sees what etcd itself calls deprecated, and what it does not know.
    expect(unusableVariables(["ETCD_ENABLE_V2", "ETCD_NO_SUCH_SETTING", "ETCD_DATA_DIR"], flags)).toEqual(["ETCD_ENABLE_V2", "ETCD_NO_SUCH_SETTING"]);
});

test("every rendered ETCD_* variable is a current flag of this etcd", () => {
    expect(renderedVariables.length).toBeGreaterThan(15);
    expect(unusableVariables(renderedVariables, flags)).toEqual([]);
});
