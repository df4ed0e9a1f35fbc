/**
 * How far apart the runs of a CronJob schedule can be, so that an alert can tell a backup that is
 * merely not due yet from one that missed its run. Schedules are read as Kubernetes reads them
 * (robfig/cron v3: five fields or a macro), in UTC as the stack's CronJobs run.
 */

const MACROS: Readonly<Record<string, string>> = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
};

interface FieldBounds {
    readonly min: number;
    readonly max: number;
    readonly names?: readonly string[];
}

const MINUTE: FieldBounds = { min: 0, max: 59 };
const HOUR: FieldBounds = { min: 0, max: 23 };
const DAY_OF_MONTH: FieldBounds = { min: 1, max: 31 };
const MONTH: FieldBounds = { min: 1, max: 12, names: ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"] };
const DAY_OF_WEEK: FieldBounds = { min: 0, max: 6, names: ["sun", "mon", "tue", "wed", "thu", "fri", "sat"] };

interface Field {
    readonly values: ReadonlySet<number>;
    /** Written as `*` or `?` (without a step): for the two day fields this changes how they combine. */
    readonly star: boolean;
}

function parseField(text: string, bounds: FieldBounds, schedule: string): Field {
    const values = new Set<number>();
    let star = false;
    const value = (name: string): number => {
        const named = bounds.names?.indexOf(name.toLowerCase()) ?? -1;
        const number = named >= 0 ? named + bounds.min : /^\d+$/.test(name) ? Number(name) : NaN;
        if (!(number >= bounds.min && number <= bounds.max)) {
            throw new Error(`"${schedule}" is not a cron schedule: "${text}" is out of ${bounds.min}-${bounds.max}`);
        }
        return number;
    };
    for (const part of text.split(",")) {
        const [range, stepText] = part.split("/");
        const step = stepText === undefined ? 1 : Number(stepText);
        const wildcard = range === "*" || range === "?";
        const [low, high] = range.split("-");
        const start = wildcard ? bounds.min : value(low);
        // "N/step" runs from N to the field's maximum.
        const end = wildcard || (high === undefined && stepText !== undefined) ? bounds.max : value(high ?? low);
        if (!Number.isInteger(step) || step < 1) {
            throw new Error(`"${schedule}" is not a cron schedule: bad step in "${part}"`);
        }
        star ||= wildcard && step === 1;
        for (let v = start; v <= end; v += step) values.add(v);
    }
    return { values, star };
}

const DAY_SECONDS = 86_400;
/** Long enough to hold every gap of any schedule at least once: weekdays and leap years repeat within 28 years, and a Feb 29 schedule waits 4. */
const YEARS_SCANNED = 32;

// By schedule: the scan below walks 32 years day by day (about 0.1 s), and a plan asks once per CronJob.
const longestIntervals = new Map<string, number>();

/**
 * The longest time, in seconds, between two consecutive runs of `schedule`. Throws when the schedule
 * is not one, or runs less than twice in 32 years (e.g. "0 0 30 2 *", which never runs).
 */
export function longestScheduleIntervalSeconds(schedule: string): number {
    let longest = longestIntervals.get(schedule);
    if (longest === undefined) {
        longest = scanLongestInterval(schedule);
        longestIntervals.set(schedule, longest);
    }
    return longest;
}

function scanLongestInterval(schedule: string): number {
    const fields = (MACROS[schedule.trim()] ?? schedule).trim().split(/\s+/);
    if (fields.length !== 5) {
        throw new Error(`"${schedule}" is not a cron schedule: expected 5 fields or a macro such as @daily`);
    }
    const [minutes, hours, daysOfMonth, months, daysOfWeek] = fields;
    const minute = parseField(minutes, MINUTE, schedule);
    const hour = parseField(hours, HOUR, schedule);
    const dayOfMonth = parseField(daysOfMonth, DAY_OF_MONTH, schedule);
    const month = parseField(months, MONTH, schedule);
    const dayOfWeek = parseField(daysOfWeek, DAY_OF_WEEK, schedule);

    // The times of day a run starts, in seconds since midnight, in order.
    const times = [...hour.values].sort((a, b) => a - b).flatMap((h) => [...minute.values].sort((a, b) => a - b).map((m) => h * 3600 + m * 60));
    let longest = 0;
    for (let i = 1; i < times.length; i++) longest = Math.max(longest, times[i] - times[i - 1]);

    // As cron does: when either day field is `*`, a day must match both; otherwise either.
    const runsOn = (date: Date): boolean => {
        const byMonthDay = dayOfMonth.values.has(date.getUTCDate());
        const byWeekDay = dayOfWeek.values.has(date.getUTCDay());
        return dayOfMonth.star || dayOfWeek.star ? byMonthDay && byWeekDay : byMonthDay || byWeekDay;
    };
    const first = Date.UTC(2000, 0, 1) / 1000;
    let lastRun: number | undefined;
    let runs = 0;
    for (let day = first; day < Date.UTC(2000 + YEARS_SCANNED, 0, 1) / 1000; day += DAY_SECONDS) {
        const date = new Date(day * 1000);
        if (!month.values.has(date.getUTCMonth() + 1) || !runsOn(date)) continue;
        if (lastRun !== undefined) longest = Math.max(longest, day + times[0] - lastRun);
        lastRun = day + times[times.length - 1];
        runs += times.length;
    }
    if (runs < 2) {
        throw new Error(`"${schedule}" runs less than twice in ${YEARS_SCANNED} years`);
    }
    return longest;
}
