import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { precompileProject, projectTypeScriptFiles } from "./precompile-project";

test("the project's files are the ones jest and tsc load: its tests and sources, nothing installed or rendered", () => {
    const files = projectTypeScriptFiles().map((file) => path.relative(path.resolve(__dirname, ".."), file));
    expect(files).toEqual(expect.arrayContaining(["index.ts", "test/global-setup.ts", "test/precompile-project.test.ts", "plan/cli.ts"]));
    expect(files.filter((file) => /^(node_modules|\.cache|rendered)\//.test(file) || file.endsWith(".d.ts"))).toEqual([]);
});

describe("precompiling", () => {
    const work = fs.mkdtempSync(path.join(os.tmpdir(), "precompile-"));
    const env = { ...process.env, APISIX_ETCD_TS_CACHE: path.join(work, "cache") };
    const cached = () => fs.readdirSync(path.join(work, "cache"), { recursive: true }).filter((file) => String(file).endsWith(".js")).length;
    afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

    test("fills the cache, leaving a file that does not parse to the process that loads it", async () => {
        fs.writeFileSync(path.join(work, "tsconfig.json"), JSON.stringify({ compilerOptions: { module: "commonjs" } }));
        fs.writeFileSync(path.join(work, "good.ts"), "export const good: number = 1;\n");
        fs.writeFileSync(path.join(work, "bad.ts"), "export const bad: = 1;\n");
        await precompileProject([path.join(work, "bad.ts"), path.join(work, "good.ts")], env);
        expect(cached()).toBe(1);
    });

    test("fails, with the compiler's error, when the compiler fails", async () => {
        await expect(precompileProject([path.join(work, "missing.ts")], env)).rejects.toThrow(/typescript-compiler\.js failed \(exit 1.*\n[\s\S]*ENOENT/);
    });
});
