import { cronProblem } from "./cron";

/**
 * Kubernetes validates CronJob schedules with robfig/cron v3's standard parser: five fields
 * (minute 0-59, hour 0-23, day of month 1-31, month 1-12 or jan-dec, day of week 0-6 or sun-sat)
 * or a macro. A schedule accepted here must be accepted there, and the problem named otherwise.
 */
describe("cronProblem", () => {
    test.each([
        "17 */6 * * *",
        "43 2 * * *",
        "0 0 * * 0",
        "59 23 31 12 6",
        "0 0 1 1 *",
        "*/15 * * * *",
        "5/15 * * * *",
        "0-30/10 8-18 * * 1-5",
        "0,15,30,45 * * * *",
        "0 12 * jan,JUL mon-fri",
        "0 12 ? * SUN",
        "0 3 * * sat",
        "  30 1 * * *  ",
        "@daily",
        "@hourly",
        "@weekly",
        "@monthly",
        "@yearly",
        "@annually",
        "@midnight",
    ])("accepts %j", (schedule) => {
        expect(cronProblem(schedule)).toBeUndefined();
    });

    test.each([
        ["", "expected 5 fields"],
        ["* * * *", "got 4 field(s)"],
        ["0 * * * * *", "got 6 field(s)"], // a seconds field: Kubernetes has none
        ["TZ=UTC 0 * * * *", "got 6 field(s)"],
        ["@sometimes", "got 1 field(s)"],
        ["60 * * * *", 'minute field "60"'],
        ["* 24 * * *", 'hour field "24"'],
        ["* * 0 * *", 'day of month field "0"'],
        ["* * 32 * *", 'day of month field "32"'],
        ["* * * 13 *", 'month field "13"'],
        ["* * * 0 *", 'month field "0"'],
        ["* * * * 7", 'day of week field "7"'], // robfig/cron v3 (Kubernetes) allows 0-6 only
        ["* * * * 8", 'day of week field "8"'],
        ["* * * mon *", 'month field "mon"'],
        ["* * * * jan", 'day of week field "jan"'],
        ["30-10 * * * *", 'minute field "30-10"'],
        ["1-2-3 * * * *", 'minute field "1-2-3"'],
        ["*/0 * * * *", 'minute field "*/0"'],
        ["*/x * * * *", 'minute field "*/x"'],
        ["*/5/2 * * * *", 'minute field "*/5/2"'],
        ["-1 * * * *", 'minute field "-1"'],
        ["1,,2 * * * *", 'minute field "1,,2"'],
        ["0 noon * * *", 'hour field "noon"'],
    ])("rejects %j naming the problem", (schedule, fragment) => {
        expect(cronProblem(schedule)).toContain(fragment);
    });

    test("names the allowed range of the field at fault", () => {
        expect(cronProblem("0 25 * * *")).toBe('the hour field "25" is not valid (allowed 0-23)');
        expect(cronProblem("0 0 * * 9")).toMatch(/allowed 0-6\)$/);
    });
});
