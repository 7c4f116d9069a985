import {
  chmodSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import { SecretMasker } from "./masker.js";
import { StepFilePool, StepIO, stepFilesFolder } from "./step-io.js";

/** A temporary folder, removed when the test ends. */
function tempFolder(): string {
  const folder = mkdtempSync(join(tmpdir(), "conveyor-step-io-"));
  onTestFinished(() => rmSync(folder, { recursive: true, force: true }));
  return folder;
}

function stepIO(tempDirectory: string, files?: StepFilePool): StepIO {
  return new StepIO({
    tempDirectory,
    workspace: tempDirectory,
    masker: new SecretMasker(),
    debug: false,
    allowUnsecureCommands: false,
    files,
    sink: { line: () => undefined, annotation: () => undefined },
  });
}

/** Marks files with a time no new file has, to know them again after a rename. */
const OLD = new Date("2001-02-03T04:05:06Z");
const mark = (paths: readonly string[]): void => {
  for (const path of paths) utimesSync(path, OLD, OLD);
};
const marked = (io: StepIO): number =>
  Object.values(io.fileVariables).filter((path) => statSync(path).mtimeMs === OLD.getTime()).length;

describe("StepIO's environment files", () => {
  it("gives every step a fresh, empty set of its own, and removes it when the step ends", () => {
    const temp = tempFolder();
    const first = stepIO(temp);
    const second = stepIO(temp);
    const paths = Object.values(first.fileVariables);
    expect(paths).toHaveLength(5);
    for (const path of paths) expect(readFileSync(path, "utf8")).toBe("");
    expect(new Set([...paths, ...Object.values(second.fileVariables)]).size).toBe(10);
    writeFileSync(first.fileVariables.GITHUB_OUTPUT, "answer=42\n");
    expect(first.finish().outputs).toEqual({ answer: "42" });
    for (const path of paths) expect(existsSync(path)).toBe(false);
  });

  it("hands the files a step left untouched on to the next step under new names", () => {
    const temp = tempFolder();
    const pool = new StepFilePool();
    const first = stepIO(temp, pool);
    const { GITHUB_ENV: written, ...others } = first.fileVariables;
    mark(Object.values(others));
    writeFileSync(written, "A=1\n");
    expect(first.finish().env).toEqual({ A: "1" });
    expect(existsSync(written)).toBe(false);

    const second = stepIO(temp, pool);
    // The four untouched files are the first step's, renamed; the written one was removed.
    expect(marked(second)).toBe(4);
    for (const path of Object.values(second.fileVariables)) expect(readFileSync(path, "utf8")).toBe("");
    for (const path of Object.values(first.fileVariables)) expect(existsSync(path)).toBe(false);
    expect(second.finish().env).toEqual({});
    pool.dispose();
    expect(readdirSync(stepFilesFolder(temp))).toEqual([]);
  });

  it("does not hand on a file a step made unwritable", () => {
    const temp = tempFolder();
    const pool = new StepFilePool();
    const first = stepIO(temp, pool);
    chmodSync(first.fileVariables.GITHUB_PATH, 0o400);
    first.finish();
    const second = stepIO(temp, pool);
    expect(statSync(second.fileVariables.GITHUB_PATH).mode & 0o200).toBe(0o200);
    second.finish();
  });

  it("makes the files again when a step removed the whole temporary folder", () => {
    const temp = tempFolder();
    const pool = new StepFilePool();
    stepIO(temp, pool).finish();
    rmSync(temp, { recursive: true, force: true });
    const next = stepIO(temp, pool);
    for (const path of Object.values(next.fileVariables)) expect(readFileSync(path, "utf8")).toBe("");
    next.finish();
  });

  it("lends a run's files to its jobs, which return them when they end", () => {
    const home = join(tempFolder(), "step-files");
    const run = new StepFilePool(home);
    const firstJob = new StepFilePool(undefined, run);
    const firstTemp = tempFolder();
    const io = stepIO(firstTemp, firstJob);
    mark(Object.values(io.fileVariables));
    io.finish();
    firstJob.dispose();
    expect(readdirSync(stepFilesFolder(firstTemp))).toEqual([]);
    expect(readdirSync(home)).toHaveLength(5);

    const secondJob = new StepFilePool(undefined, run);
    const next = stepIO(tempFolder(), secondJob);
    expect(marked(next)).toBe(5);
    expect(readdirSync(home)).toEqual([]);
    next.finish();
    secondJob.dispose();
  });
});
