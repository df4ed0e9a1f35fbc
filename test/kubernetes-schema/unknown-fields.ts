/**
 * Finds fields that the Kubernetes API does not define (a misspelled `imagePullPolicyy`, a field put
 * one level too deep), which kubernetes-models' validate() lets through: its compiled schemas allow
 * additional properties, and the package ships no raw OpenAPI/JSON schema. It does ship TypeScript
 * declarations generated from the same OpenAPI document, one interface per definition, so the
 * TypeScript checker knows every field of every object: each manifest is walked against the
 * interface of its kind, and every key the interface does not declare is reported with its path.
 * Maps (labels, annotations, selectors, resource lists) are index signatures there, so any key
 * passes inside them, as the API server allows.
 */
import * as path from "path";
import * as ts from "typescript";

const PROJECT_DIR = path.resolve(__dirname, "..", "..");

export interface UnknownField {
    /** Index of the manifest in the list given. */
    readonly index: number;
    /** JSON pointer of the field, e.g. `/spec/template/spec/containers/0/imagePullPolicyy`. */
    readonly path: string;
    /** The fields allowed at that level. */
    readonly allowed: readonly string[];
}

export interface ManifestModel {
    /** The kubernetes-models module of the object's kind, e.g. `kubernetes-models/apps/v1/StatefulSet`. */
    readonly module: string;
    readonly kind: string;
}

/** Members of a union type (or the type itself) that describe objects or arrays, not primitives. */
function structuredMembers(type: ts.Type): ts.Type[] {
    const members = type.isUnion() ? type.types : [type];
    return members.filter((member) => (member.flags & (ts.TypeFlags.Object | ts.TypeFlags.Intersection | ts.TypeFlags.Any | ts.TypeFlags.Unknown)) !== 0);
}

/**
 * The fields of `manifests[i]` that the interface of its kubernetes-models kind does not declare.
 * `models[i]` undefined skips a manifest (a custom resource without a model).
 */
export function unknownFields(manifests: readonly unknown[], models: readonly (ManifestModel | undefined)[]): UnknownField[] {
    const probeFile = path.join(PROJECT_DIR, `.unknown-fields-probe-${process.pid}.ts`);
    const lines = models.flatMap((model, index) =>
        model ? [`import type { I${model.kind} as T${index} } from ${JSON.stringify(model.module)};`, `export declare const v${index}: T${index};`] : [],
    );
    const probeSource = lines.join("\n") + "\nexport {};\n";

    // Resolution as a bundler does it, which honours the package's "exports" with "types".
    const options: ts.CompilerOptions = {
        strict: true,
        noEmit: true,
        skipLibCheck: true,
        types: [],
        module: ts.ModuleKind.ESNext,
        moduleResolution: ts.ModuleResolutionKind.Bundler,
        target: ts.ScriptTarget.ES2022,
        // The language's own declarations only: the default libraries add the DOM's, 0.7 s more to parse here.
        lib: ["lib.es2022.d.ts"],
    };
    const host = ts.createCompilerHost(options, true);
    const getSourceFile = host.getSourceFile.bind(host);
    host.getSourceFile = (fileName, language, onError, shouldCreate) =>
        path.resolve(fileName) === probeFile ? ts.createSourceFile(fileName, probeSource, language, true) : getSourceFile(fileName, language, onError, shouldCreate);
    const fileExists = host.fileExists.bind(host);
    host.fileExists = (fileName) => path.resolve(fileName) === probeFile || fileExists(fileName);
    const readFile = host.readFile.bind(host);
    host.readFile = (fileName) => (path.resolve(fileName) === probeFile ? probeSource : readFile(fileName));

    const program = ts.createProgram([probeFile], options, host);
    const probe = program.getSourceFile(probeFile)!;
    // A model that does not resolve would make every field "unknown" (type any): fail instead.
    const unresolved = ts.getPreEmitDiagnostics(program, probe).map((d) => ts.flattenDiagnosticMessageText(d.messageText, "\n"));
    if (unresolved.length > 0) {
        throw new Error(`kubernetes-models types did not resolve:\n${unresolved.join("\n")}`);
    }
    const checker = program.getTypeChecker();
    const declared = new Map<number, ts.Type>();
    for (const statement of probe.statements) {
        if (ts.isVariableStatement(statement)) {
            for (const declaration of statement.declarationList.declarations) {
                declared.set(Number(declaration.name.getText(probe).slice(1)), checker.getTypeAtLocation(declaration.name));
            }
        }
    }

    const found: UnknownField[] = [];
    const walk = (index: number, value: unknown, type: ts.Type, pointer: string): void => {
        if (value === null || typeof value !== "object") {
            return; // primitive types and formats are validate()'s job
        }
        const members = structuredMembers(type);
        if (members.length === 0 || members.some((member) => member.flags & (ts.TypeFlags.Any | ts.TypeFlags.Unknown))) {
            return;
        }
        if (Array.isArray(value)) {
            const arrayType = members.find((member) => checker.isArrayType(member));
            const element = arrayType && checker.getTypeArguments(arrayType as ts.TypeReference)[0];
            if (element) {
                value.forEach((item, i) => walk(index, item, element, `${pointer}/${i}`));
            }
            return;
        }
        const mapOf = members.map((member) => checker.getIndexInfoOfType(member, ts.IndexKind.String)).find(Boolean);
        for (const [key, inner] of Object.entries(value)) {
            const property = members.map((member) => member.getProperty(key)).find(Boolean);
            if (property) {
                walk(index, inner, checker.getTypeOfSymbol(property), `${pointer}/${key}`);
            } else if (mapOf) {
                walk(index, inner, mapOf.type, `${pointer}/${key}`);
            } else {
                const allowed = [...new Set(members.flatMap((member) => member.getProperties().map((p) => p.name)))].sort();
                found.push({ index, path: `${pointer}/${key}`, allowed });
            }
        }
    };
    for (const [index, type] of declared) {
        walk(index, manifests[index], type, "");
    }
    return found;
}
