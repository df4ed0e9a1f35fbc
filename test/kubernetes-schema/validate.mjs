// Validates Kubernetes objects against the API schema with kubernetes-models
// (ESM only, hence a script of its own, run by test/kubernetes-schema.test.ts:
// ts-jest compiles import() to require(), which cannot load ESM).
//   stdin:  a JSON array of manifests
//   stdout: a JSON array, one entry per manifest:
//           { index, apiVersion, kind, name, model, errors }
//   model:  the kubernetes-models module the object was validated with, or
//           null for a custom resource whose group-version kubernetes-models
//           does not know (then only apiVersion, kind and metadata.name are checked).
import { readFileSync } from "node:fs";

const manifests = JSON.parse(readFileSync(0, "utf8"));

async function importOrUndefined(specifier) {
  try {
    return await import(specifier);
  } catch (error) {
    if (error && (error.code === "ERR_PACKAGE_PATH_NOT_EXPORTED" || error.code === "ERR_MODULE_NOT_FOUND")) return undefined;
    throw error;
  }
}

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

const results = [];
for (const [index, manifest] of manifests.entries()) {
  const { apiVersion, kind } = manifest ?? {};
  const name = manifest?.metadata?.name;
  const result = { index, apiVersion, kind, name, model: null, errors: [] };
  results.push(result);
  if (typeof apiVersion !== "string" || typeof kind !== "string") {
    result.errors.push("apiVersion and kind must be strings");
    continue;
  }
  const groupVersion = await importOrUndefined(`kubernetes-models/${apiVersion}`);
  if (groupVersion === undefined) {
    // A custom resource: its schema is its CRD's, which we do not have.
    if (!/^[a-z0-9.-]+\.[a-z0-9-]+\/v\d+((alpha|beta)\d+)?$/.test(apiVersion)) result.errors.push(`apiVersion ${apiVersion} is neither a Kubernetes group-version nor <group.domain>/<version>`);
    if (!/^[A-Z][A-Za-z0-9]*$/.test(kind)) result.errors.push(`kind ${kind} is not a PascalCase kind`);
    if (typeof name !== "string" || name.length > 253 || !DNS_SUBDOMAIN.test(name)) result.errors.push(`metadata.name ${JSON.stringify(name)} is not a DNS subdomain`);
    continue;
  }
  const specifier = `kubernetes-models/${apiVersion}/${kind}`;
  const module = await importOrUndefined(specifier);
  const Model = module?.[kind];
  if (typeof Model !== "function") {
    result.errors.push(`${apiVersion} has no kind ${kind}`);
    continue;
  }
  result.model = specifier;
  try {
    new Model(manifest).validate();
  } catch (error) {
    const details = Array.isArray(error?.errors) ? error.errors.map((e) => `${e.instancePath || "/"} ${e.message ?? e.keyword}${e.params ? " " + JSON.stringify(e.params) : ""}`) : [];
    result.errors.push(details.length > 0 ? details.join("; ") : String(error?.message ?? error));
  }
}
process.stdout.write(JSON.stringify(results));
