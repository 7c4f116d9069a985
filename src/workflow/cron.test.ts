import { describe, expect, it } from "vitest";
import { type CronSchedule, checkTimezone, nextCronTime, parseCron } from "./cron.js";

function parsed(expression: string, timezone?: string): CronSchedule {
  const result = parseCron(expression, timezone);
  if (!result.ok) throw new Error(result.errors.map((e) => e.message).join("; "));
  return result.value;
}

function errorsOf(expression: string, timezone?: string): string[] {
  const result = parseCron(expression, timezone);
  return result.ok ? [] : result.errors.map((e) => e.message);
}

function next(expression: string, after: string, timezone?: string): string | undefined {
  return nextCronTime(parsed(expression, timezone), new Date(after))?.toISOString();
}

describe("parseCron: valid expressions", () => {
  it("reads single values and stars", () => {
    const schedule = parsed("0 * * * *");
    expect(schedule.minutes).toEqual([0]);
    expect(schedule.hours).toHaveLength(24);
    expect(schedule.daysOfMonth).toHaveLength(31);
    expect(schedule.months).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    expect(schedule.daysOfWeek).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(schedule.timezone).toBe("UTC");
    expect(schedule.daysOfMonthRestricted).toBe(false);
    expect(schedule.daysOfWeekRestricted).toBe(false);
  });

  it("reads lists, as in GitHub's example '15 4,5 * * *'", () => {
    expect(parsed("15 4,5 * * *").hours).toEqual([4, 5]);
  });

  it("reads steps over a star, a range and a lone start value", () => {
    expect(parsed("*/15 * * * *").minutes).toEqual([0, 15, 30, 45]);
    expect(parsed("1-10/3 * * * *").minutes).toEqual([1, 4, 7, 10]);
    expect(parsed("5/15 * * * *").minutes).toEqual([5, 20, 35, 50]);
    expect(parsed("0 0 */10 * *").daysOfMonth).toEqual([1, 11, 21, 31]);
  });

  it("reads month and day names in any case, also in ranges", () => {
    const schedule = parsed("0 0 * JAN-MAR mon-Fri");
    expect(schedule.months).toEqual([1, 2, 3]);
    expect(schedule.daysOfWeek).toEqual([1, 2, 3, 4, 5]);
    expect(schedule.daysOfWeekRestricted).toBe(true);
    expect(parsed("0 0 * dec sun").daysOfWeek).toEqual([0]);
  });

  it("merges overlapping list items into ascending distinct values", () => {
    expect(parsed("30,0-10/5,5 * * * *").minutes).toEqual([0, 5, 10, 30]);
  });

  it("accepts several spaces or tabs between fields", () => {
    expect(parsed("0  12\t* * *").hours).toEqual([12]);
  });

  it("marks a day field as unrestricted when it starts with *", () => {
    expect(parsed("0 0 */2 * 1").daysOfMonthRestricted).toBe(false);
    expect(parsed("0 0 1 * 1").daysOfMonthRestricted).toBe(true);
  });
});

describe("parseCron: errors name the field, the value and what is allowed", () => {
  it.each([
    ["61 * * * *", "minute value 61 is out of range 0-59"],
    ["0 24 * * *", "hour value 24 is out of range 0-23"],
    ["0 0 0 * *", "day of month value 0 is out of range 1-31"],
    ["0 0 32 * *", "day of month value 32 is out of range 1-31"],
    ["0 0 * 13 *", "month value 13 is out of range 1-12"],
    ["0 0 * * 7", "day of week value 7 is out of range 0-6 (Sunday is 0)"],
    ["0 0 * FOO *", "month value 'FOO' is not a number or a month name (JAN-DEC)"],
    ["0 0 * * MONDAY", "day of week value 'MONDAY' is not a number or a day name (SUN-SAT)"],
    ["x * * * *", "minute value 'x' is not a number"],
    ["MON * * * *", "minute value 'MON' is not a number"],
    ["-5 * * * *", "minute range '-5' needs a value on both sides of '-'"],
    ["5-1 * * * *", "minute range '5-1' is backwards: its start must not be after its end"],
    ["1-2-3 * * * *", "minute range '1-2-3' has more than one '-'"],
    ["*-5 * * * *", "minute '*' cannot be part of a range; use '*' alone or two values"],
    ["*/0 * * * *", "minute step 0 in '*/0' is out of range 1-59"],
    ["*/60 * * * *", "minute step 60 in '*/60' is out of range 1-59"],
    ["0 0 * * */7", "day of week step 7 in '*/7' is out of range 1-6"],
    ["*/x * * * *", "minute step 'x' in '*/x' is not a number"],
    ["*/5/2 * * * *", "minute field item '*/5/2' has more than one '/'"],
    ["/5 * * * *", "minute step '/5' needs a start before '/', such as '*/5'"],
    ["5/ * * * *", "minute step '5/' needs a number after '/'"],
    ["1,,2 * * * *", "minute field '1,,2' has an empty item"],
    ["0 0 ? * *", "day of month value '?' is not supported by GitHub Actions; use '*'"],
    ["0 0 L * *", "day of month value 'L' is not a number"],
    ["1.5 * * * *", "minute value '1.5' is not a number"],
    ["0 0 * constructor *", "month value 'constructor' is not a number or a month name (JAN-DEC)"],
  ])("%s: %s", (expression, message) => {
    expect(errorsOf(expression)).toEqual([`invalid cron expression '${expression}': ${message}`]);
  });

  it.each([
    ["@daily", "GitHub Actions does not support '@daily'; write '0 0 * * *' instead"],
    ["@hourly", "GitHub Actions does not support '@hourly'; write '0 * * * *' instead"],
    ["@weekly", "GitHub Actions does not support '@weekly'; write '0 0 * * 0' instead"],
    ["@reboot", "GitHub Actions does not support '@reboot'; write five fields instead"],
    ["", "it is empty; expected five fields: minute hour day-of-month month day-of-week"],
    ["* * * *", "it has 4 fields; expected five: minute hour day-of-month month day-of-week"],
    [
      "0 * * * * *",
      "it has 6 fields; expected five: minute hour day-of-month month day-of-week (a seconds field is not supported)",
    ],
  ])("%s: %s", (expression, message) => {
    expect(errorsOf(expression)).toEqual([`invalid cron expression '${expression}': ${message}`]);
  });

  it("reports every bad field", () => {
    expect(errorsOf("61 25 * * *")).toEqual([
      "invalid cron expression '61 25 * * *': minute value 61 is out of range 0-59",
      "invalid cron expression '61 25 * * *': hour value 25 is out of range 0-23",
    ]);
  });

  it("reports an unknown time zone", () => {
    expect(errorsOf("0 * * * *", "Mars/Olympus")).toEqual([
      "unknown time zone 'Mars/Olympus': use an IANA name such as 'UTC', 'Europe/Paris' or 'America/New_York'",
    ]);
    expect(checkTimezone("Europe/Paris")).toBeUndefined();
    expect(checkTimezone("UTC")).toBeUndefined();
  });
});

describe("nextCronTime in UTC", () => {
  it("returns a time strictly after the given one", () => {
    expect(next("0 * * * *", "2024-01-01T10:00:00Z")).toBe("2024-01-01T11:00:00.000Z");
    expect(next("0 * * * *", "2024-01-01T09:59:59.999Z")).toBe("2024-01-01T10:00:00.000Z");
    expect(next("*/15 * * * *", "2024-01-01T10:07:30Z")).toBe("2024-01-01T10:15:00.000Z");
    expect(next("* * * * *", "2024-01-01T10:07:30Z")).toBe("2024-01-01T10:08:00.000Z");
  });

  it("rolls over to the next day, month and year", () => {
    expect(next("30 2 * * *", "2024-01-01T03:00:00Z")).toBe("2024-01-02T02:30:00.000Z");
    expect(next("0 0 1 * *", "2024-01-31T12:00:00Z")).toBe("2024-02-01T00:00:00.000Z");
    expect(next("0 0 1 1 *", "2024-06-01T00:00:00Z")).toBe("2025-01-01T00:00:00.000Z");
  });

  it("runs when EITHER restricted day field matches", () => {
    // 2024-09-06 is a Friday; 2024-10-13 is a Sunday, the 13th.
    expect(next("0 0 13 * 5", "2024-09-01T00:00:00Z")).toBe("2024-09-06T00:00:00.000Z");
    expect(next("0 0 13 * 5", "2024-10-11T12:00:00Z")).toBe("2024-10-13T00:00:00.000Z");
  });

  it("needs both day fields when one starts with *, as Vixie cron does", () => {
    // Mondays in September 2024: 2, 9, 16; */2 keeps odd days only.
    expect(next("0 0 */2 * 1", "2024-09-01T00:00:00Z")).toBe("2024-09-09T00:00:00.000Z");
    expect(next("0 0 * * 1", "2024-09-03T00:00:00Z")).toBe("2024-09-09T00:00:00.000Z");
    expect(next("0 12 * DEC SUN", "2024-01-01T00:00:00Z")).toBe("2024-12-01T12:00:00.000Z");
  });

  it("skips months without the day", () => {
    expect(next("0 0 31 * *", "2024-04-01T00:00:00Z")).toBe("2024-05-31T00:00:00.000Z");
    expect(next("0 0 29 2 *", "2024-03-01T00:00:00Z")).toBe("2028-02-29T00:00:00.000Z");
  });

  it("returns undefined for a schedule that never fires", () => {
    expect(next("0 0 30 2 *", "2024-01-01T00:00:00Z")).toBeUndefined();
  });
});

describe("nextCronTime in a time zone", () => {
  it("reads the fields as wall-clock time in the zone", () => {
    expect(next("30 9 * * *", "2024-01-15T00:00:00Z", "Europe/Paris")).toBe("2024-01-15T08:30:00.000Z");
    expect(next("30 9 * * *", "2024-07-15T00:00:00Z", "Europe/Paris")).toBe("2024-07-15T07:30:00.000Z");
  });

  it("uses the zone's date and weekday", () => {
    expect(next("0 0 * * *", "2024-01-01T00:00:00Z", "Asia/Tokyo")).toBe("2024-01-01T15:00:00.000Z");
    // Sunday 23:00 in Tokyo is Sunday 14:00 UTC.
    expect(next("0 23 * * 0", "2024-01-01T00:00:00Z", "Asia/Tokyo")).toBe("2024-01-07T14:00:00.000Z");
    // 02:00 UTC on January 1st is 18:00 on December 31st in Los Angeles.
    expect(next("0 20 * * *", "2024-01-01T02:00:00Z", "America/Los_Angeles")).toBe(
      "2024-01-01T04:00:00.000Z",
    );
  });

  it("fires a time skipped by the spring-forward jump as far after the jump", () => {
    // New York skips 02:00-03:00 on 2024-03-10; 02:30 becomes 03:30 EDT (07:30 UTC).
    expect(next("30 2 * * *", "2024-03-09T12:00:00Z", "America/New_York")).toBe("2024-03-10T07:30:00.000Z");
    expect(next("30 2 * * *", "2024-03-10T08:00:00Z", "America/New_York")).toBe("2024-03-11T06:30:00.000Z");
  });

  it("fires a time that occurs twice in the fall-back hour only once, the first time", () => {
    // 01:30 occurs at 05:30 UTC (EDT) and 06:30 UTC (EST) on 2024-11-03.
    expect(next("30 1 * * *", "2024-11-02T12:00:00Z", "America/New_York")).toBe("2024-11-03T05:30:00.000Z");
    expect(next("30 1 * * *", "2024-11-03T05:30:00Z", "America/New_York")).toBe("2024-11-04T06:30:00.000Z");
  });

  it("keeps the order of times around a jump", () => {
    // 02:30 is pushed to 03:30 EDT, after 03:00 EDT, which therefore comes first.
    expect(next("0,30 2,3 * * *", "2024-03-10T06:00:00Z", "America/New_York")).toBe(
      "2024-03-10T07:00:00.000Z",
    );
  });
});
