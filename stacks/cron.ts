/**
 * Validation of the five-field cron schedules that Kubernetes CronJobs accept, so that a typo in a
 * schedule fails at `pulumi preview` and not as a CronJob the API server rejects mid-deployment.
 */

const MACROS = new Set(["@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"]);

interface CronField {
    readonly name: string;
    readonly min: number;
    readonly max: number;
    readonly names?: readonly string[];
}

const FIELDS: readonly CronField[] = [
    { name: "minute", min: 0, max: 59 },
    { name: "hour", min: 0, max: 23 },
    { name: "day of month", min: 1, max: 31 },
    { name: "month", min: 1, max: 12, names: ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"] },
    // 0-6: robfig/cron v3, which the API server validates schedules with, has no 7 for Sunday.
    { name: "day of week", min: 0, max: 6, names: ["sun", "mon", "tue", "wed", "thu", "fri", "sat"] },
];

function fieldValue(text: string, field: CronField): number | undefined {
    if (/^\d+$/.test(text)) {
        const value = Number(text);
        return value >= field.min && value <= field.max ? value : undefined;
    }
    const index = field.names?.indexOf(text.toLowerCase()) ?? -1;
    return index < 0 ? undefined : index + (field.name === "month" ? 1 : 0);
}

function validPart(part: string, field: CronField): boolean {
    const [range, step, ...extra] = part.split("/");
    if (extra.length > 0 || (step !== undefined && !/^[1-9]\d*$/.test(step))) {
        return false;
    }
    if (range === "*" || range === "?") {
        return true;
    }
    const bounds = range.split("-");
    if (bounds.length > 2) {
        return false;
    }
    const values = bounds.map((bound) => fieldValue(bound, field));
    if (values.some((value) => value === undefined)) {
        return false;
    }
    return values.length === 1 || (values[0] as number) <= (values[1] as number);
}

/** Why a schedule is invalid, or undefined when Kubernetes would accept it. */
export function cronProblem(schedule: string): string | undefined {
    const trimmed = schedule.trim();
    if (MACROS.has(trimmed)) {
        return undefined;
    }
    const fields = trimmed.split(/\s+/);
    if (fields.length !== FIELDS.length) {
        return `expected 5 fields (minute hour day-of-month month day-of-week) or a macro such as @daily, got ${fields.length} field(s)`;
    }
    for (const [index, field] of FIELDS.entries()) {
        if (!fields[index].split(",").every((part) => validPart(part, field))) {
            return `the ${field.name} field "${fields[index]}" is not valid (allowed ${field.min}-${field.max})`;
        }
    }
    return undefined;
}
