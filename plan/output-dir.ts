import * as fs from "fs";
import * as path from "path";

/**
 * Replaces the folder `dir` with one holding exactly `files`, so that a reader sees either the
 * previous plan or the new one, never a mix: the files are written beside it, then swapped in.
 */
export function replaceDirectory(dir: string, files: Readonly<Record<string, string>>): void {
    const parent = path.dirname(path.resolve(dir));
    fs.mkdirSync(parent, { recursive: true });
    const staging = fs.mkdtempSync(path.join(parent, `.${path.basename(dir)}.new-`));
    const previous = path.join(parent, `.${path.basename(dir)}.old-${process.pid}`);
    try {
        for (const [name, content] of Object.entries(files)) {
            fs.writeFileSync(path.join(staging, name), content);
        }
        const hadPrevious = fs.existsSync(dir);
        if (hadPrevious) {
            fs.renameSync(dir, previous);
        }
        fs.renameSync(staging, dir);
        if (hadPrevious) {
            fs.rmSync(previous, { recursive: true, force: true });
        }
    } finally {
        fs.rmSync(staging, { recursive: true, force: true });
    }
}
