/** The program itself failed: its config loader refused the config, or a component threw. */
export class ProgramError extends Error {
    constructor(readonly causes: readonly unknown[]) {
        super(causes.map((cause) => (cause instanceof Error ? cause.message : String(cause))).join("\n"));
        this.name = "ProgramError";
    }
}
