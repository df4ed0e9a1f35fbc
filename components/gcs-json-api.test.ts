/** The bash functions the GCS steps begin with, run by bash. */
import { spawnSync } from "child_process";
import { GCS_FUNCTIONS } from "./gcs-json-api";

const bash = (script: string) => spawnSync("bash", ["-c", `set -euo pipefail\n${GCS_FUNCTIONS}\n${script}`], { encoding: "utf8" });

test.each([
    ["compact", '{"access_token":"ya29.a0-b_c.d","expires_in":3599,"token_type":"Bearer"}', "access_token", "ya29.a0-b_c.d"],
    ["pretty, as GCS answers", '{\n  "kind": "storage#object",\n  "size": "1180221440",\n  "md5Hash": "x"\n}', "size", "1180221440"],
    ["a number", '{"size": 14, "name": "a"}', "size", "14"],
    ["the last field", '{"name":"a","size":"7"}', "size", "7"],
    ["absent", '{"error":{"code":403}}', "access_token", ""],
])("json_field reads a field: %s", (_, document, field, value) => {
    const result = bash(`json_field ${field} '${document}'`);
    expect(result.status).toBe(0);
    expect(result.stdout.trim()).toBe(value);
});

test("gcs_encode percent-encodes all but unreserved characters, bytewise", () => {
    const result = bash(`gcs_encode 'etcd/2026/apisix-etcd-20260101T001700Z.db'; echo; gcs_encode 'a b+c~d_é'`);
    expect(result.stdout.split("\n").slice(0, 2)).toEqual(["etcd%2F2026%2Fapisix-etcd-20260101T001700Z.db", "a%20b%2Bc~d_%C3%A9"]);
});
