import { deferredModule } from "./deferred-module";

test("a deferred module loads on the first read of one of its properties, once, and reads through to it", () => {
    let loads = 0;
    const real = { answer: 42, describe: () => "real" };
    const standIn = deferredModule(() => {
        loads++;
        return real;
    }) as typeof real & { __esModule?: unknown };
    // What TypeScript's import helpers ask first: nothing is loaded for it.
    expect(standIn.__esModule).toBe(true);
    expect(loads).toBe(0);
    expect(standIn.answer).toBe(42);
    expect("describe" in standIn).toBe(true);
    expect(standIn.describe()).toBe("real");
    expect(loads).toBe(1);
    // Loaded, it is what the module says it is.
    expect(standIn.__esModule).toBeUndefined();
});
