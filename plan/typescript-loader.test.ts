import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

/** plan/typescript-loader.js as `npm start` uses it, in a node process of its own, with a cache folder of the test's. */
describe("the TypeScript loader", () => {
    const work = fs.mkdtempSync(path.join(os.tmpdir(), "ts-loader-"));
    const cache = path.join(work, "cache");
    const main = path.join(work, "main.ts");
    const run = () =>
        spawnSync(process.execPath, ["-r", path.join(__dirname, "typescript-loader.js"), main], {
            encoding: "utf8",
            env: { ...process.env, APISIX_ETCD_TS_CACHE: cache },
        });
    const cached = () => fs.readdirSync(cache, { recursive: true }).filter((file) => String(file).endsWith(".js")).length;

    beforeAll(() => fs.writeFileSync(path.join(work, "tsconfig.json"), JSON.stringify({ compilerOptions: { target: "ES2022", module: "commonjs", strict: true } })));
    afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

    test("runs a TypeScript file, and compiles it again when it changed, never from a stale cache", () => {
        fs.writeFileSync(main, 'const greeting: string = "first";\nconsole.log(greeting);\n');
        expect(run()).toMatchObject({ status: 0, stdout: "first\n", stderr: "" });
        expect(cached()).toBe(1);
        expect(run()).toMatchObject({ status: 0, stdout: "first\n" });
        expect(cached()).toBe(1);
        fs.writeFileSync(main, 'const greeting: string = "second";\nconsole.log(greeting);\n');
        expect(run()).toMatchObject({ status: 0, stdout: "second\n" });
        expect(cached()).toBe(2);
    });

    test("compiles again when the tsconfig.json changes", () => {
        fs.writeFileSync(main, 'const value: string = "same";\nconsole.log(value);\n');
        expect(run()).toMatchObject({ status: 0, stdout: "same\n" });
        const before = cached();
        fs.writeFileSync(path.join(work, "tsconfig.json"), JSON.stringify({ compilerOptions: { target: "ES2020", module: "commonjs", strict: true } }));
        expect(run()).toMatchObject({ status: 0, stdout: "same\n" });
        expect(cached()).toBe(before + 1);
    });

    test("refuses a file TypeScript cannot parse, naming the file and line", () => {
        fs.writeFileSync(main, "const fine = 1;\nconst broken: = 2;\n");
        const result = run();
        expect(result.status).not.toBe(0);
        expect(result.stderr).toContain(`${main}:2: `);
    });
});
