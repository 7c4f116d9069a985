/**
 * The conformance suite: one small workflow per behaviour of `conveyor run`, each with its expected
 * outcome and output. A case is a file, `cases/<name>.yml`: a workflow whose leading comments say
 * what it shows and then, after `# ---`, how to run it and what must happen, as YAML (the keys are
 * `CaseSpec` and `RunSpec` below; README.md in this folder has them in a table). The optional
 * folder `cases/<name>/` holds files copied into the case's repository (local actions, scripts,
 * called workflows, payloads). Each case gets a throwaway git repository and runs the built CLI,
 * `node bin/conveyor.cjs run [args] --json`; the NDJSON events (src/engine/events.ts) are checked.
 */
import { spawn, spawnSync } from "node:child_process";
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import type { Annotation, RunEvent } from "../../src/engine/events.js";
import { CLI } from "../cli/helpers.js";

const CASES = join(dirname(fileURLToPath(import.meta.url)), "cases");
/** What is kept of a run's stdout: all of it for --json runs, head and tail otherwise. */
const MAX_KEPT_BYTES = 64 * 1024 * 1024;
const HEAD_TAIL_BYTES = 1024 * 1024;

// ---------------------------------------------------------------------------------------------
// The case header

/** A line that must (or must not) be there: the exact text, or `/regex/flags`. */
type TextPattern = string;

interface AnnotationSpec {
  readonly level?: "error" | "warning" | "notice";
  readonly message?: TextPattern;
  readonly title?: string;
  readonly file?: string;
  readonly line?: number;
  readonly column?: number;
  /** The job's display name. */
  readonly job?: string;
}

type StepSpec =
  string | { readonly name?: TextPattern; readonly outcome?: string; readonly conclusion?: string };

interface RunSpec {
  /** After `conveyor run`: the event and options. `--json` is added unless `json: false`. */
  readonly args?: readonly string[];
  /** Environment for the conveyor process. */
  readonly env?: Readonly<Record<string, string>>;
  readonly json?: boolean;
  /** Send SIGINT to conveyor once a log line matches. */
  readonly interrupt?: TextPattern;
  readonly exit?: number;
  readonly conclusion?: "success" | "failure" | "cancelled";
  /** Job display name -> result. */
  readonly jobs?: Readonly<Record<string, string>>;
  /** Job display name -> every step in order: `outcome`, `outcome/conclusion`, or an object. */
  readonly steps?: Readonly<Record<string, readonly StepSpec[]>>;
  /** Job display name -> outputs it ended with; null: the output must be absent. */
  readonly outputs?: Readonly<Record<string, Readonly<Record<string, string | null>>>>;
  /** Log lines that must appear (exact line or /regex/); without --json, lines of stdout. */
  readonly output?: readonly TextPattern[];
  /** Log lines that must not appear (exact line or /regex/). */
  readonly "no-output"?: readonly TextPattern[];
  /** Text that must appear nowhere in stdout or stderr, JSON included (substring or /regex/). */
  readonly nowhere?: readonly TextPattern[];
  /** Text some step summary must contain (substring or /regex/). */
  readonly summaries?: readonly TextPattern[];
  /** Text stderr must contain (substring or /regex/). */
  readonly stderr?: readonly TextPattern[];
  readonly annotations?: readonly AnnotationSpec[];
  /** Annotations that must not be there. */
  readonly "no-annotations"?: readonly AnnotationSpec[];
  /** `<job> started|finished < <job> started|finished`, from the events' timestamps. */
  readonly timing?: readonly string[];
  /** How many jobs ran at the same time, at most and at least. */
  readonly parallel?: { readonly max?: number; readonly min?: number };
  readonly "max-seconds"?: number;
  /** Run under /usr/bin/time and check conveyor's peak resident memory. */
  readonly "peak-rss-mb"?: number;
  /** Paths (relative to the repository) that must exist, or not, once the run ended. */
  readonly "files-after"?: { readonly present?: readonly string[]; readonly absent?: readonly string[] };
}

interface CaseSpec extends RunSpec {
  readonly skip?: string;
  /** Seconds the case may take (default 60). */
  readonly timeout?: number;
  /** A folder of the fixture copied to a fresh CONVEYOR_ACTION_CACHE (always a fresh folder). */
  readonly "action-cache"?: string;
  /** Several runs in the same repository, one after the other. */
  readonly runs?: readonly RunSpec[];
  /** Files written after the commit: uncommitted changes and untracked files (path -> text). */
  readonly uncommitted?: Readonly<Record<string, string>>;
}

interface Case {
  readonly name: string;
  readonly file: string;
  readonly spec: CaseSpec;
  readonly headerError?: string;
}

/**
 * The leading `#` comment lines of a file: a description, a `# ---` line, then the expectations
 * as YAML (a header without `# ---` is all YAML).
 */
function readHeader(text: string): unknown {
  const lines: string[] = [];
  for (const line of text.split("\n")) {
    if (!line.startsWith("#")) break;
    lines.push(line.replace(/^# ?/, ""));
  }
  const separator = lines.indexOf("---");
  return parse(lines.slice(separator + 1).join("\n")) ?? {};
}

function loadCases(): Case[] {
  return readdirSync(CASES)
    .filter((f) => f.endsWith(".yml"))
    .sort()
    .map((f) => {
      const file = join(CASES, f);
      try {
        return { name: basename(f, ".yml"), file, spec: readHeader(readFileSync(file, "utf8")) as CaseSpec };
      } catch (e) {
        // A header that is not YAML fails its own case, not the suite.
        return { name: basename(f, ".yml"), file, spec: {}, headerError: String(e) };
      }
    });
}

// ---------------------------------------------------------------------------------------------
// Running a case

const temporaryFolders: string[] = [];

function temporaryFolder(prefix: string): string {
  const folder = mkdtempSync(join(tmpdir(), prefix));
  temporaryFolders.push(folder);
  return folder;
}

function git(args: readonly string[], cwd: string): void {
  const result = spawnSync("git", [...args], { cwd, encoding: "utf8" });
  if (result.status !== 0) throw new Error(`git ${args.join(" ")}: ${result.stderr}`);
}

/** A git repository holding the case's workflow and fixture files, committed. */
function caseRepository(testCase: Case): { root: string; actionCache: string } {
  const root = temporaryFolder(`conveyor-case-${testCase.name}-`);
  const actionCache = temporaryFolder("conveyor-actions-");
  const fixtures = join(CASES, testCase.name);
  const cacheFolder = testCase.spec["action-cache"];
  if (existsSync(fixtures)) {
    for (const entry of readdirSync(fixtures)) {
      if (entry === cacheFolder) cpSync(join(fixtures, entry), actionCache, { recursive: true });
      else cpSync(join(fixtures, entry), join(root, entry), { recursive: true });
    }
  }
  mkdirSync(join(root, ".github", "workflows"), { recursive: true });
  cpSync(testCase.file, join(root, ".github", "workflows", `${testCase.name}.yml`));
  git(["init", "--quiet", "--initial-branch=main"], root);
  git(["add", "--all"], root);
  git(
    [
      "-c",
      "user.name=Conformance",
      "-c",
      "user.email=conformance@conveyor.invalid",
      "commit",
      "--quiet",
    ].concat(["--message", `case ${testCase.name}`]),
    root,
  );
  for (const [path, text] of Object.entries(testCase.spec.uncommitted ?? {})) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return { root, actionCache };
}

interface RunResult {
  readonly status: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly events: RunEvent[];
  readonly wallMs: number;
  readonly peakRssMb?: number;
}

/** Keeps a stream's text: whole up to MAX_KEPT_BYTES, then its first and last megabyte. */
class Kept {
  private chunks: string[] = [];
  private bytes = 0;
  private head = "";
  private overflowed = false;

  add(text: string): void {
    this.chunks.push(text);
    this.bytes += text.length;
    if (!this.overflowed && this.bytes > MAX_KEPT_BYTES) {
      this.overflowed = true;
      this.head = this.chunks.join("").slice(0, HEAD_TAIL_BYTES);
    }
    if (!this.overflowed) return;
    // Keep only the chunks that hold the last HEAD_TAIL_BYTES.
    while (this.chunks.length > 1 && this.bytes - (this.chunks[0] as string).length >= HEAD_TAIL_BYTES) {
      this.bytes -= (this.chunks.shift() as string).length;
    }
  }

  text(): string {
    return this.overflowed ? `${this.head}\n[…]\n${this.chunks.join("")}` : this.chunks.join("");
  }
}

function matches(pattern: TextPattern, text: string, exact: boolean): boolean {
  const regex = /^\/(.*)\/([a-z]*)$/s.exec(pattern);
  if (regex) return new RegExp(regex[1] as string, regex[2]).test(text);
  return exact ? text === pattern : text.includes(pattern);
}

function runConveyor(spec: RunSpec, root: string, env: Record<string, string>): Promise<RunResult> {
  const json = spec.json !== false;
  const args = ["run", ...(spec.args ?? []), ...(json ? ["--json"] : [])];
  const rssFile = join(temporaryFolder("conveyor-rss-"), "rss");
  const measured = spec["peak-rss-mb"] !== undefined;
  const command = measured ? "/usr/bin/time" : process.execPath;
  const commandArgs = measured ? ["-f", "%M", "-o", rssFile, process.execPath, CLI, ...args] : [CLI, ...args];
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(command, commandArgs, {
      cwd: root,
      env: { ...process.env, NO_COLOR: "1", FORCE_COLOR: "0", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const stdout = new Kept();
    const stderr = new Kept();
    const events: RunEvent[] = [];
    let partial = "";
    let interrupted = false;
    child.stdout.setEncoding("utf8");
    child.stderr.setEncoding("utf8");
    child.stdout.on("data", (text: string) => {
      stdout.add(text);
      if (!json) return;
      const lines = (partial + text).split("\n");
      partial = lines.pop() ?? "";
      for (const line of lines) {
        if (line.trim() === "") continue;
        const event = JSON.parse(line) as RunEvent;
        events.push(event);
        if (
          spec.interrupt &&
          !interrupted &&
          event.type === "log" &&
          matches(spec.interrupt, event.text, true)
        ) {
          interrupted = true;
          child.kill("SIGINT");
        }
      }
    });
    child.stderr.on("data", (text: string) => stderr.add(text));
    child.on("error", reject);
    child.on("close", (status, signal) => {
      let peakRssMb: number | undefined;
      if (measured) {
        const lines = readFileSync(rssFile, "utf8").trim().split("\n");
        peakRssMb = Number(lines[lines.length - 1]) / 1024;
      }
      resolve({
        status,
        signal,
        stdout: stdout.text(),
        stderr: stderr.text(),
        events,
        wallMs: Date.now() - started,
        peakRssMb,
      });
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Checking a run

/** Job names by job id, from the job events. */
function jobNames(events: readonly RunEvent[]): Map<string, string> {
  const names = new Map<string, string>();
  for (const e of events)
    if (e.type === "job-started" || e.type === "job-finished") names.set(e.jobId, e.name);
  return names;
}

function describeRun(result: RunResult): string {
  const json = result.events.length > 0;
  const lines = json
    ? result.events.map((e) => {
        switch (e.type) {
          case "log":
            return `  [${e.jobId}:${e.step ?? "-"}] ${e.text.slice(0, 300)}`;
          case "annotation":
            return `  [${e.jobId}] ::${e.level} ${e.file ?? ""}:${e.line ?? ""}:: ${e.message.slice(0, 300)}`;
          case "step-finished":
            return `  [${e.jobId}] step ${e.step} '${e.name}' ${e.outcome}/${e.conclusion}`;
          default:
            return `  ${JSON.stringify(e).slice(0, 300)}`;
        }
      })
    : result.stdout.split("\n").slice(-80);
  return [
    `exit ${result.status ?? result.signal}, ${result.wallMs} ms`,
    ...lines.slice(0, 400),
    `stderr: ${result.stderr.slice(0, 4000)}`,
  ].join("\n");
}

function checkRun(spec: RunSpec, result: RunResult): void {
  const context = describeRun(result);
  const json = spec.json !== false;
  const events = result.events;
  const names = jobNames(events);
  const nameOf = (jobId: string): string => names.get(jobId) ?? jobId;

  const expectedExit =
    spec.exit ??
    (spec.conclusion === "failure"
      ? 1
      : spec.conclusion === "cancelled"
        ? 130
        : spec.conclusion
          ? 0
          : undefined);
  if (expectedExit !== undefined) expect(result.status, `exit code\n${context}`).toBe(expectedExit);
  if (json && spec.conclusion) {
    const finished = events.filter((e) => e.type === "run-finished");
    expect(finished.length, `one run-finished event\n${context}`).toBeGreaterThan(0);
    for (const f of finished) expect(f.conclusion, `run conclusion\n${context}`).toBe(spec.conclusion);
  }
  if (spec.jobs) {
    const results: Record<string, string> = {};
    for (const e of events) if (e.type === "job-finished") results[e.name] = e.result;
    expect(results, `job results\n${context}`).toEqual(spec.jobs);
  }
  for (const [job, expected] of Object.entries(spec.steps ?? {})) {
    const steps = events.filter(
      (e): e is Extract<RunEvent, { type: "step-finished" }> =>
        e.type === "step-finished" && nameOf(e.jobId) === job,
    );
    const actual = steps.map((s) => `${s.name}: ${s.outcome}/${s.conclusion}`);
    expect(steps.length, `number of steps of '${job}': ${JSON.stringify(actual)}\n${context}`).toBe(
      expected.length,
    );
    expected.forEach((want, index) => {
      const step = steps[index] as Extract<RunEvent, { type: "step-finished" }>;
      const spec =
        typeof want === "string"
          ? { outcome: want.split("/")[0], conclusion: want.split("/")[1] ?? want.split("/")[0] }
          : want;
      const where = `step ${index + 1} of '${job}' (${actual[index]})\n${context}`;
      if (spec.name !== undefined) expect(matches(spec.name, step.name, true), `name of ${where}`).toBe(true);
      if (spec.outcome !== undefined) expect(step.outcome, `outcome of ${where}`).toBe(spec.outcome);
      if (spec.conclusion !== undefined)
        expect(step.conclusion, `conclusion of ${where}`).toBe(spec.conclusion);
    });
  }
  for (const [job, expected] of Object.entries(spec.outputs ?? {})) {
    const finished = events.find((e) => e.type === "job-finished" && e.name === job);
    expect(finished, `job '${job}' finished\n${context}`).toBeDefined();
    const outputs = finished?.type === "job-finished" ? finished.outputs : {};
    for (const [name, value] of Object.entries(expected)) {
      if (value === null) expect(outputs, `output ${name} of '${job}' is absent`).not.toHaveProperty(name);
      else expect(outputs[name], `output ${name} of '${job}'\n${context}`).toBe(value);
    }
  }
  const lines = json
    ? events.filter((e) => e.type === "log").map((e) => (e.type === "log" ? e.text : ""))
    : result.stdout.split("\n");
  for (const pattern of spec.output ?? []) {
    expect(
      lines.some((line) => matches(pattern, line, true)),
      `a line ${pattern}\n${context}`,
    ).toBe(true);
  }
  for (const pattern of spec["no-output"] ?? []) {
    const found = lines.find((line) => matches(pattern, line, true));
    expect(found, `no line ${pattern}\n${context}`).toBeUndefined();
  }
  const everything = result.stdout + "\n" + result.stderr;
  for (const pattern of spec.nowhere ?? []) {
    expect(matches(pattern, everything, false), `${pattern} nowhere in the output\n${context}`).toBe(false);
  }
  for (const pattern of spec.stderr ?? []) {
    expect(matches(pattern, result.stderr, false), `stderr has ${pattern}\n${context}`).toBe(true);
  }
  const summaries = events.flatMap((e) => (e.type === "step-summary" ? [e.markdown] : []));
  for (const pattern of spec.summaries ?? []) {
    expect(
      summaries.some((markdown) => matches(pattern, markdown, false)),
      `a step summary with ${pattern}\n${context}`,
    ).toBe(true);
  }
  const annotations = events.filter((e): e is Annotation => e.type === "annotation");
  const annotated = (want: AnnotationSpec): boolean =>
    annotations.some(
      (a) =>
        (want.level === undefined || a.level === want.level) &&
        (want.message === undefined || matches(want.message, a.message, false)) &&
        (want.title === undefined || a.title === want.title) &&
        (want.file === undefined || a.file === want.file) &&
        (want.line === undefined || a.line === want.line) &&
        (want.column === undefined || a.column === want.column) &&
        (want.job === undefined || nameOf(a.jobId) === want.job),
    );
  for (const want of spec.annotations ?? []) {
    expect(annotated(want), `an annotation ${JSON.stringify(want)}\n${context}`).toBe(true);
  }
  for (const want of spec["no-annotations"] ?? []) {
    expect(annotated(want), `no annotation ${JSON.stringify(want)}\n${context}`).toBe(false);
  }
  checkTiming(spec, events, nameOf, context);
  if (spec["max-seconds"] !== undefined) {
    expect(result.wallMs, `wall time\n${context}`).toBeLessThan(spec["max-seconds"] * 1000);
  }
  if (spec["peak-rss-mb"] !== undefined) {
    expect(result.peakRssMb, `peak RSS in MB\n${context}`).toBeLessThan(spec["peak-rss-mb"]);
  }
}

function checkTiming(
  spec: RunSpec,
  events: readonly RunEvent[],
  nameOf: (jobId: string) => string,
  context: string,
): void {
  const times = new Map<string, number>();
  const intervals: [number, number][] = [];
  const starts = new Map<string, number>();
  for (const e of events) {
    if (e.type === "job-started") {
      times.set(`${e.name} started`, Date.parse(e.at));
      starts.set(e.jobId, Date.parse(e.at));
    }
    if (e.type === "job-finished" && e.ran) {
      times.set(`${nameOf(e.jobId)} finished`, Date.parse(e.at));
      intervals.push([starts.get(e.jobId) ?? Date.parse(e.at), Date.parse(e.at)]);
    }
  }
  for (const rule of spec.timing ?? []) {
    const [left, right] = rule.split("<").map((s) => s.trim()) as [string, string];
    const a = times.get(left);
    const b = times.get(right);
    expect(a, `time of '${left}'\n${context}`).toBeDefined();
    expect(b, `time of '${right}'\n${context}`).toBeDefined();
    expect(
      (a as number) < (b as number) || (a === b && right.endsWith("started")),
      `${rule}\n${context}`,
    ).toBe(true);
  }
  if (spec.parallel) {
    // The most jobs running at one moment (a job finishing as another starts does not overlap).
    const points = intervals.flatMap(([s, f]) => [
      [s, 1],
      [f, -1],
    ]);
    points.sort((x, y) => (x[0] as number) - (y[0] as number) || (x[1] as number) - (y[1] as number));
    let running = 0;
    let most = 0;
    for (const [, delta] of points) most = Math.max(most, (running += delta as number));
    if (spec.parallel.max !== undefined)
      expect(most, `jobs at once\n${context}`).toBeLessThanOrEqual(spec.parallel.max);
    if (spec.parallel.min !== undefined)
      expect(most, `jobs at once\n${context}`).toBeGreaterThanOrEqual(spec.parallel.min);
  }
}

// ---------------------------------------------------------------------------------------------

const cases = loadCases();

afterAll(() => {
  for (const folder of temporaryFolders) rmSync(folder, { recursive: true, force: true });
});

describe.concurrent("conformance", () => {
  for (const testCase of cases) {
    const { spec } = testCase;
    const run = spec.skip ? it.skip : it;
    run(
      spec.skip ? `${testCase.name} (skipped: ${spec.skip})` : testCase.name,
      async () => {
        expect(testCase.headerError, `the header of ${testCase.file}`).toBeUndefined();
        const { root, actionCache } = caseRepository(testCase);
        const substitute = (text: string): string =>
          text.replaceAll("{repo}", root).replaceAll("{action-cache}", actionCache);
        for (const runSpec of spec.runs ?? [spec]) {
          const env: Record<string, string> = { CONVEYOR_ACTION_CACHE: actionCache };
          for (const [k, v] of Object.entries(runSpec.env ?? {})) env[k] = substitute(String(v));
          const args = (runSpec.args ?? []).map((a) => substitute(String(a)));
          const result = await runConveyor({ ...runSpec, args }, root, env);
          checkRun(runSpec, result);
          for (const path of runSpec["files-after"]?.present ?? []) {
            expect(existsSync(join(root, path)), `${path} in the repository after the run`).toBe(true);
          }
          for (const path of runSpec["files-after"]?.absent ?? []) {
            expect(existsSync(join(root, path)), `no ${path} in the repository after the run`).toBe(false);
          }
        }
      },
      (spec.timeout ?? 60) * 1000,
    );
  }
});
