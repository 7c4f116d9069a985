/**
 * GitHub's `on.schedule[].cron`: POSIX cron with five fields, and when it next fires.
 *
 * Fields: minute 0-59, hour 0-23, day of month 1-31, month 1-12 or JAN-DEC, day of week 0-6 or
 * SUN-SAT (names in any case). Each field is `*`, a value, a range `a-b`, a step `x/n` (x is `*`,
 * a value or a range; a lone value means "from x to the end"), or a comma list of those. The step
 * must lie in the field's range, as GitHub's parser requires (a day-of-week step of 7 is an error).
 * GitHub does not support `@daily` and friends, seconds, `?`, `L`, `W` or `#`.
 *
 * Days follow Vixie cron: a day field that starts with `*` does not restrict; when both day of
 * month and day of week restrict, a day matches if EITHER does (`0 0 13 * 5`: the 13th, and Fridays).
 */
import { type Diagnostic, type Result, error, failed, ok } from "../diagnostic.js";

export interface CronSchedule {
  readonly expression: string;
  /** IANA time zone the fields are read in; "UTC" unless `on.schedule[].timezone` says otherwise. */
  readonly timezone: string;
  /** Each field's values, ascending and distinct. */
  readonly minutes: readonly number[];
  readonly hours: readonly number[];
  readonly daysOfMonth: readonly number[];
  readonly months: readonly number[];
  /** 0 is Sunday. */
  readonly daysOfWeek: readonly number[];
  /** Whether the day-of-month field restricts days (it does not start with `*`). */
  readonly daysOfMonthRestricted: boolean;
  readonly daysOfWeekRestricted: boolean;
}

interface FieldSpec {
  readonly label: string;
  readonly min: number;
  readonly max: number;
  readonly names?: Readonly<Record<string, number>>;
  /** What to say about names when a value is not a number. */
  readonly nameHint?: string;
}

const MONTH_NAMES = {
  jan: 1,
  feb: 2,
  mar: 3,
  apr: 4,
  may: 5,
  jun: 6,
  jul: 7,
  aug: 8,
  sep: 9,
  oct: 10,
  nov: 11,
  dec: 12,
};
const DAY_NAMES = { sun: 0, mon: 1, tue: 2, wed: 3, thu: 4, fri: 5, sat: 6 };

const FIELDS: readonly FieldSpec[] = [
  { label: "minute", min: 0, max: 59 },
  { label: "hour", min: 0, max: 23 },
  { label: "day of month", min: 1, max: 31 },
  { label: "month", min: 1, max: 12, names: MONTH_NAMES, nameHint: "a month name (JAN-DEC)" },
  { label: "day of week", min: 0, max: 6, names: DAY_NAMES, nameHint: "a day name (SUN-SAT)" },
];

const MACROS: Readonly<Record<string, string>> = {
  "@yearly": "0 0 1 1 *",
  "@annually": "0 0 1 1 *",
  "@monthly": "0 0 1 * *",
  "@weekly": "0 0 * * 0",
  "@daily": "0 0 * * *",
  "@midnight": "0 0 * * *",
  "@hourly": "0 * * * *",
};

/**
 * Parses a cron expression (and checks the time zone, UTC by default). Each error names the field,
 * the bad value and what is allowed, e.g. `minute value 61 is out of range 0-59`.
 */
export function parseCron(expression: string, timezone = "UTC"): Result<CronSchedule> {
  const errors: Diagnostic[] = [];
  const zoneProblem = checkTimezone(timezone);
  if (zoneProblem) errors.push(error(zoneProblem));

  const texts = fieldTexts(expression);
  if (typeof texts === "string") {
    errors.push(error(`invalid cron expression '${expression}': ${texts}`));
    return failed(errors);
  }
  const fields: number[][] = [];
  for (const [index, text] of texts.entries()) {
    const spec = FIELDS[index] as FieldSpec;
    const values = parseField(text, spec);
    if (typeof values === "string") errors.push(error(`invalid cron expression '${expression}': ${values}`));
    else fields.push(values);
  }
  if (errors.length > 0) return failed(errors);
  const [minutes, hours, daysOfMonth, months, daysOfWeek] = fields as [
    number[],
    number[],
    number[],
    number[],
    number[],
  ];
  return ok({
    expression,
    timezone,
    minutes,
    hours,
    daysOfMonth,
    months,
    daysOfWeek,
    daysOfMonthRestricted: !(texts[2] as string).startsWith("*"),
    daysOfWeekRestricted: !(texts[4] as string).startsWith("*"),
  });
}

/** Says what is wrong with a time zone name, or nothing when the runtime knows the zone. */
export function checkTimezone(timezone: string): string | undefined {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: timezone });
    return undefined;
  } catch {
    return `unknown time zone '${timezone}': use an IANA name such as 'UTC', 'Europe/Paris' or 'America/New_York'`;
  }
}

/** The five field texts, or why the expression does not have them. */
function fieldTexts(expression: string): string[] | string {
  const trimmed = expression.trim();
  if (trimmed === "") return "it is empty; expected five fields: minute hour day-of-month month day-of-week";
  const macro = ownValue(MACROS, trimmed.toLowerCase());
  if (macro) return `GitHub Actions does not support '${trimmed}'; write '${macro}' instead`;
  if (trimmed.startsWith("@"))
    return `GitHub Actions does not support '${trimmed}'; write five fields instead`;
  const parts = trimmed.split(/\s+/u);
  if (parts.length !== 5) {
    const seconds = parts.length === 6 ? " (a seconds field is not supported)" : "";
    return `it has ${parts.length} fields; expected five: minute hour day-of-month month day-of-week${seconds}`;
  }
  return parts;
}

/** GitHub's precedence: `,` splits first, then `/`, then `-`. */
function parseField(text: string, spec: FieldSpec): number[] | string {
  const values = new Set<number>();
  for (const item of text.split(",")) {
    if (item === "") return `${spec.label} field '${text}' has an empty item`;
    const itemValues = parseItem(item, spec);
    if (typeof itemValues === "string") return itemValues;
    for (const value of itemValues) values.add(value);
  }
  return [...values].sort((a, b) => a - b);
}

function parseItem(item: string, spec: FieldSpec): number[] | string {
  if (!item.includes("/")) {
    const bounds = parseBounds(item, spec);
    return typeof bounds === "string" ? bounds : span(bounds.start, bounds.end, 1);
  }
  const parts = item.split("/");
  if (parts.length > 2) return `${spec.label} field item '${item}' has more than one '/'`;
  const [base, stepText] = parts as [string, string];
  if (base === "") return `${spec.label} step '${item}' needs a start before '/', such as '*/${stepText}'`;
  if (stepText === "") return `${spec.label} step '${item}' needs a number after '/'`;
  if (!/^\d+$/u.test(stepText)) return `${spec.label} step '${stepText}' in '${item}' is not a number`;
  const step = Number(stepText);
  const stepMin = Math.max(1, spec.min);
  if (step < stepMin || step > spec.max) {
    return `${spec.label} step ${step} in '${item}' is out of range ${stepMin}-${spec.max}`;
  }
  const bounds = parseBounds(base, spec);
  if (typeof bounds === "string") return bounds;
  // A lone start value steps to the end of the field: `5/15` in minutes is 5,20,35,50.
  const end = base.includes("-") || base === "*" ? bounds.end : spec.max;
  return span(bounds.start, end, step);
}

/** `*`, a single value or a range `a-b`, as inclusive bounds. */
function parseBounds(text: string, spec: FieldSpec): { start: number; end: number } | string {
  if (text === "*") return { start: spec.min, end: spec.max };
  if (!text.includes("-")) {
    const value = parseValue(text, spec);
    return typeof value === "string" ? value : { start: value, end: value };
  }
  const parts = text.split("-");
  if (parts.length > 2) return `${spec.label} range '${text}' has more than one '-'`;
  const [startText, endText] = parts as [string, string];
  if (startText === "" || endText === "")
    return `${spec.label} range '${text}' needs a value on both sides of '-'`;
  const start = parseValue(startText, spec);
  if (typeof start === "string") return start;
  const end = parseValue(endText, spec);
  if (typeof end === "string") return end;
  if (end < start) return `${spec.label} range '${text}' is backwards: its start must not be after its end`;
  return { start, end };
}

function parseValue(text: string, spec: FieldSpec): number | string {
  const named = spec.names ? ownValue(spec.names, text.toLowerCase()) : undefined;
  if (named !== undefined) return named;
  if (text === "*") return `${spec.label} '*' cannot be part of a range; use '*' alone or two values`;
  if (text === "?") return `${spec.label} value '?' is not supported by GitHub Actions; use '*'`;
  if (!/^\d+$/u.test(text)) {
    return `${spec.label} value '${text}' is not a number${spec.nameHint ? ` or ${spec.nameHint}` : ""}`;
  }
  const value = Number(text);
  if (value < spec.min || value > spec.max) {
    const sunday = spec.names === DAY_NAMES && value === 7 ? " (Sunday is 0)" : "";
    return `${spec.label} value ${value} is out of range ${spec.min}-${spec.max}${sunday}`;
  }
  return value;
}

/** A record's own entry only: `constructor` is no month name. */
function ownValue<T>(record: Readonly<Record<string, T>>, key: string): T | undefined {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}

function span(start: number, end: number, step: number): number[] {
  const values: number[] = [];
  for (let value = start; value <= end; value += step) values.push(value);
  return values;
}

const MINUTE_MS = 60_000;
const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
/** Longest month lengths, February in a leap year. */
const MONTH_DAYS = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
/** One Gregorian cycle (400 years): every date falls on every weekday within it. */
const SEARCH_DAYS = 146_097;

/**
 * The first time strictly after `after` at which the schedule fires, or undefined when it never
 * fires (February 30th). Times are wall-clock times in the schedule's time zone: a time skipped by
 * a daylight-saving jump fires as far after the jump as it was into the gap (02:30 becomes 03:30),
 * and a time that occurs twice fires once, the first time.
 */
export function nextCronTime(schedule: CronSchedule, after: Date): Date | undefined {
  if (!hasPossibleDay(schedule)) return undefined;
  const offsetMs = offsetFunction(schedule.timezone);
  const startMs = Math.floor(after.getTime() / MINUTE_MS) * MINUTE_MS + MINUTE_MS;
  // Begin a day early: an offset change can put the answer on the previous wall-clock date.
  let dayMs = Math.floor((startMs + offsetMs(startMs)) / DAY_MS) * DAY_MS - DAY_MS;
  const endMs = dayMs + SEARCH_DAYS * DAY_MS;
  while (dayMs < endMs) {
    const day = new Date(dayMs);
    if (!schedule.months.includes(day.getUTCMonth() + 1)) {
      dayMs = Date.UTC(day.getUTCFullYear(), day.getUTCMonth() + 1, 1);
      continue;
    }
    if (dayMatches(schedule, day.getUTCDate(), day.getUTCDay())) {
      const best = earliestOnDay(schedule, offsetMs, dayMs, startMs);
      if (best !== undefined) return new Date(best);
    }
    dayMs += DAY_MS;
  }
  return undefined;
}

/**
 * Whether some listed month has some listed day of month. When both day fields restrict, days of
 * the week alone suffice; otherwise both must hold, and over 400 years every date meets every
 * weekday, so a date that exists is enough.
 */
function hasPossibleDay(schedule: CronSchedule): boolean {
  if (schedule.daysOfMonthRestricted && schedule.daysOfWeekRestricted) return true;
  return schedule.months.some((month) =>
    schedule.daysOfMonth.some((day) => day <= (MONTH_DAYS[month - 1] ?? 0)),
  );
}

function dayMatches(schedule: CronSchedule, dayOfMonth: number, dayOfWeek: number): boolean {
  const domMatches = schedule.daysOfMonth.includes(dayOfMonth);
  const dowMatches = schedule.daysOfWeek.includes(dayOfWeek);
  if (schedule.daysOfMonthRestricted && schedule.daysOfWeekRestricted) return domMatches || dowMatches;
  return domMatches && dowMatches;
}

/** UTC offsets lie within -12h..+14h, which bounds how far a wall time is from its instant. */
const MAX_AHEAD_MS = 14 * HOUR_MS;
const MAX_BEHIND_MS = 12 * HOUR_MS;

/** Local time minus UTC at an instant, in milliseconds. */
type OffsetFunction = (instantMs: number) => number;

/** The earliest firing at or after `startMs` among the schedule's times on one wall-clock day. */
function earliestOnDay(
  schedule: CronSchedule,
  offsetMs: OffsetFunction,
  dayMs: number,
  startMs: number,
): number | undefined {
  // The offsets a day before and two days after bracket any change that touches this day.
  const before = offsetMs(dayMs - DAY_MS);
  const later = offsetMs(dayMs + 2 * DAY_MS);
  let best: number | undefined;
  for (const hour of schedule.hours) {
    for (const minute of schedule.minutes) {
      const wallMs = dayMs + hour * HOUR_MS + minute * MINUTE_MS;
      if (wallMs + MAX_BEHIND_MS < startMs) continue;
      if (best !== undefined && wallMs - MAX_AHEAD_MS > best) return best;
      // Not simply the first: a time pushed past a daylight-saving gap can overtake later ones.
      const instant = before === later ? wallMs - before : instantOf(wallMs, before, later, offsetMs);
      if (instant >= startMs && (best === undefined || instant < best)) best = instant;
    }
  }
  return best;
}

/** The instant of a wall-clock time (given as if it were UTC) on a day the offset changes. */
function instantOf(wallMs: number, before: number, later: number, offsetMs: OffsetFunction): number {
  const candidates = [wallMs - before, wallMs - later].sort((a, b) => a - b);
  for (const candidate of candidates) {
    if (candidate + offsetMs(candidate) === wallMs) return candidate;
  }
  // In a gap: keep the offset from before the jump, which lands as far past the jump.
  return wallMs - before;
}

function offsetFunction(timezone: string): OffsetFunction {
  if (timezone.toUpperCase() === "UTC") return () => 0;
  const format = new Intl.DateTimeFormat("en-US", {
    timeZone: timezone,
    hourCycle: "h23",
    year: "numeric",
    month: "numeric",
    day: "numeric",
    hour: "numeric",
    minute: "numeric",
    second: "numeric",
  });
  return (instantMs) => {
    const parts: Record<string, number> = {};
    for (const part of format.formatToParts(new Date(instantMs))) parts[part.type] = Number(part.value);
    const local = Date.UTC(
      parts.year ?? 0,
      (parts.month ?? 1) - 1,
      parts.day ?? 1,
      parts.hour ?? 0,
      parts.minute ?? 0,
      parts.second ?? 0,
    );
    return local - Math.floor(instantMs / 1000) * 1000;
  };
}
