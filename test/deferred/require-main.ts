/**
 * The real module of package `name`, by the path of its main file: jest maps the bare name to the
 * stand-in (test/deferred/), even in `jest.requireActual`.
 */
export function requireMain(name: string): object {
    const { main } = jest.requireActual(`${name}/package.json`) as { main?: string };
    return jest.requireActual(`${name}/${main ?? "index.js"}`);
}
