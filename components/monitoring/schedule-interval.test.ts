import { longestScheduleIntervalSeconds } from "./schedule-interval";

const HOUR = 3600;
const DAY = 24 * HOUR;

test.each([
    ["17 */6 * * *", 6 * HOUR], // the prod backup
    ["43 2 * * *", DAY],
    ["*/15 * * * *", 15 * 60],
    ["0 1,13 * * *", 12 * HOUR],
    ["0 1,5 * * *", 20 * HOUR], // uneven: the night's gap counts
    ["0 9 * * 1-5", 3 * DAY], // Friday to Monday
    ["0 0 * * MON", 7 * DAY],
    ["@weekly", 7 * DAY],
    ["@hourly", HOUR],
    ["0 0 1 * *", 31 * DAY], // the longest month
    ["0 0 1 jan,jul *", 184 * DAY], // July to January
    ["0 0 29 2 *", (4 * 365 + 1) * DAY], // leap days only
    ["0 0 13 * 5", 7 * DAY], // both day fields given: the 13th or a Friday
    ["0 0 */10 * 1", 7 * DAY], // a stepped day of month is not "*": the 1st, 11th, 21st, 31st or a Monday
])("%s: at most %i s between runs", (schedule, seconds) => {
    expect(longestScheduleIntervalSeconds(schedule)).toBe(seconds);
});

test.each([
    ["0 0 30 2 *", /runs less than twice/], // never runs
    ["0 0 * *", /expected 5 fields/],
    ["61 * * * *", /out of 0-59/],
    ["*/0 * * * *", /bad step/],
    ["0 0 * * 7", /out of 0-6/],
])("%s is refused", (schedule, message) => {
    expect(() => longestScheduleIntervalSeconds(schedule)).toThrow(message);
});
