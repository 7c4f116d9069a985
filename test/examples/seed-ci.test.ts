/**
 * The seed workflows, run for real with `conveyor run` against small projects (issue 3's acceptance):
 * - `ci.yml` runs green on `examples/node-app`: checkout, setup-node (host Node, npm cache keyed on
 *   the lockfile), npm ci, npm test, npm run build;
 * - `python-ci.yml` runs the matrix job of the Python this host has, reports the other versions
 *   clearly (without fail-fast cancelling the host's job), skips deploy, and its remote actions
 *   (codecov, heroku-deploy) fail with a message that names them and says how to provide them.
 * Nothing here uses the network: npm runs offline, pip has no index and no links.
 */
import { spawnSync } from "node:child_process";
import { accessSync, constants, cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import type { Annotation, RunEvent } from "../../src/engine/events.js";
import { CLI, PROJECT_ROOT, SEED_WORKFLOWS } from "../cli/helpers.js";

const NODE_APP = join(PROJECT_ROOT, "examples", "node-app");
const RUN_TIMEOUT_MS = 180_000;

interface StepReport {
  readonly name: string;
  readonly outcome: string;
  readonly conclusion: string;
  readonly log: string[];
  readonly annotations: Annotation[];
}

interface JobReport {
  readonly name: string;
  result?: string;
  ran?: boolean;
  readonly steps: StepReport[];
  /** The job's own lines (not a step's). */
  readonly log: string[];
}

interface RunReport {
  readonly status: number;
  readonly stderr: string;
  readonly conclusion: string | undefined;
  readonly jobs: Map<string, JobReport>;
  job(name: string): JobReport;
  step(job: string, name: string): StepReport;
}

/** A throwaway git repository (one commit on main) holding `files`, relative path -> text. */
function repository(files: Record<string, string>, copyFrom?: string): string {
  const root = mkdtempSync(join(tmpdir(), "conveyor-seed-ci-"));
  if (copyFrom) cpSync(copyFrom, root, { recursive: true });
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  const env = {
    ...process.env,
    GIT_AUTHOR_NAME: "Seed",
    GIT_AUTHOR_EMAIL: "seed@example.com",
    GIT_COMMITTER_NAME: "Seed",
    GIT_COMMITTER_EMAIL: "seed@example.com",
  };
  for (const args of [["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "Seed"]]) {
    const result = spawnSync("git", args, { cwd: root, env, encoding: "utf8" });
    if (result.status !== 0) throw new Error(`git ${args.join(" ")}: ${result.stderr}`);
  }
  return root;
}

/** Runs `conveyor run --json` and gathers the events by job and step. */
function run(root: string, args: readonly string[], env: Record<string, string>): RunReport {
  const result = spawnSync(process.execPath, [CLI, "run", ...args, "--json"], {
    cwd: root,
    encoding: "utf8",
    env: { ...process.env, NO_COLOR: "1", ...env },
    timeout: RUN_TIMEOUT_MS,
    maxBuffer: 64 * 1024 * 1024,
  });
  const jobs = new Map<string, JobReport>();
  const byId = new Map<string, JobReport>();
  const steps = new Map<string, StepReport>();
  let conclusion: string | undefined;
  const jobFor = (jobId: string, name?: string): JobReport => {
    let job = byId.get(jobId);
    if (!job) {
      job = { name: name ?? jobId, steps: [], log: [] };
      byId.set(jobId, job);
      jobs.set(job.name, job);
    }
    return job;
  };
  const stepFor = (jobId: string, step: number): StepReport | undefined => steps.get(`${jobId}#${step}`);
  for (const line of result.stdout.split("\n")) {
    if (line.trim() === "") continue;
    const event = JSON.parse(line) as RunEvent;
    switch (event.type) {
      case "job-started":
        jobFor(event.jobId, event.name);
        break;
      case "step-started": {
        const step: StepReport = { name: event.name, outcome: "", conclusion: "", log: [], annotations: [] };
        steps.set(`${event.jobId}#${event.step}`, step);
        jobFor(event.jobId).steps.push(step);
        break;
      }
      case "step-finished": {
        const step = stepFor(event.jobId, event.step) as StepReport;
        Object.assign(step, { outcome: event.outcome, conclusion: event.conclusion });
        break;
      }
      case "log":
        (event.step === null ? jobFor(event.jobId).log : stepFor(event.jobId, event.step)?.log)?.push(
          event.text,
        );
        break;
      case "annotation":
        if (event.step !== null) stepFor(event.jobId, event.step)?.annotations.push(event);
        else jobFor(event.jobId).log.push(`${event.level}: ${event.message}`);
        break;
      case "job-finished": {
        const job = jobFor(event.jobId, event.name);
        job.result = event.result;
        job.ran = event.ran;
        break;
      }
      case "run-finished":
        conclusion = event.conclusion;
        break;
      default:
        break;
    }
  }
  const report: RunReport = {
    status: result.status ?? -1,
    stderr: result.stderr,
    conclusion,
    jobs,
    job(name) {
      const job = jobs.get(name);
      if (!job) throw new Error(`no job '${name}' in the run; jobs: ${[...jobs.keys()].join(", ")}`);
      return job;
    },
    step(jobName, name) {
      const step = report.job(jobName).steps.find((s) => s.name === name);
      if (!step) throw new Error(`no step '${name}' in job '${jobName}'`);
      return step;
    },
  };
  return report;
}

/** What a run must never show: Conveyor's own failures. */
function expectNoCrash(report: RunReport): void {
  expect(report.stderr).not.toMatch(/internal error|a bug in Conveyor|\n\s+at .+:\d+:\d+\)?\n/);
  for (const job of report.jobs.values()) {
    for (const step of job.steps) {
      for (const annotation of step.annotations) expect(annotation.message).not.toMatch(/internal error/);
    }
  }
}

function hostCommand(command: string, args: readonly string[]): string | undefined {
  const result = spawnSync(command, [...args], { encoding: "utf8" });
  return result.status === 0 ? result.stdout.trim() : undefined;
}

function onPath(program: string, folders: readonly string[]): boolean {
  return folders.some((folder) => {
    try {
      accessSync(join(folder, program), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

describe("the seed ci.yml on examples/node-app", () => {
  it(
    "runs green: checkout, setup-node with the npm cache, npm ci, npm test, npm run build",
    () => {
      const root = repository(
        { ".github/workflows/ci.yml": readFileSync(join(SEED_WORKFLOWS, "ci.yml"), "utf8") },
        NODE_APP,
      );
      const scratch = mkdtempSync(join(tmpdir(), "conveyor-seed-ci-env-"));
      const env = {
        // npm's download cache, which setup-node's `cache: npm` saves: a fresh one, not the user's.
        npm_config_cache: join(scratch, "npm-cache"),
        npm_config_offline: "true",
        CONVEYOR_ACTION_CACHE: join(scratch, "actions"),
      };
      const hostNode = hostCommand("node", ["-p", "process.version"]) ?? "";
      const first = run(root, [], env);
      expectNoCrash(first);
      const job = first.job("build-and-test");
      if (!hostNode.startsWith("v20.")) {
        // node-version '20' cannot be met here: the step says so, and the job stops there.
        expect(first.step("build-and-test", "Set up Node.js").annotations[0]?.message).toContain(
          `does not match this host's Node ${hostNode}`,
        );
        return;
      }
      expect(job.steps.map((s) => [s.name, s.outcome])).toEqual([
        ["Checkout code", "success"],
        ["Set up Node.js", "success"],
        ["Install dependencies", "success"],
        ["Run tests", "success"],
        ["Build", "success"],
        ["Post Set up Node.js", "success"],
      ]);
      expect(job.result).toBe("success");
      expect(first.conclusion).toBe("success");
      expect(first.status).toBe(0);
      const setup = first.step("build-and-test", "Set up Node.js").log;
      expect(setup).toContain(`Using this host's Node ${hostNode} (${hostCommandPath("node")}) for node-version '20'`);
      expect(setup).toContain("npm cache is not found");
      expect(first.step("build-and-test", "Run tests").log).toContain("# pass 4");
      expect(first.step("build-and-test", "Run tests").log).toContain("# fail 0");
      expect(first.step("build-and-test", "Build").log).toContain("Built node-app 1.0.0 into dist/");
      const saved = first.step("build-and-test", "Post Set up Node.js").log.join("\n");
      const key = /Cache saved with the key: (node-cache-Linux-\S+-npm-[0-9a-f]{64})$/m.exec(saved)?.[1];
      expect(key, saved).toBeDefined();

      // Run again: the cache keyed on package-lock.json is restored, and not saved twice.
      const second = run(root, [], env);
      expectNoCrash(second);
      expect(second.status).toBe(0);
      expect(second.step("build-and-test", "Set up Node.js").log).toContain(
        `Cache restored from key: ${key}`,
      );
      expect(second.step("build-and-test", "Post Set up Node.js").log).toContain(
        `Cache hit occurred on the primary key ${key}, not saving cache.`,
      );
    },
    2 * RUN_TIMEOUT_MS,
  );
});

function hostCommandPath(program: string): string {
  const folders = (process.env.PATH ?? "").split(delimiter).filter(Boolean);
  const folder = folders.find((f) => onPath(program, [f]));
  return folder ? join(folder, program) : program;
}

/** A minimal Python project: nothing to install (pip has no index here), a module and a test. */
const PYTHON_PROJECT: Record<string, string> = {
  "requirements.txt": "# No runtime dependencies.\n",
  "requirements-dev.txt": "# ruff, mypy, pytest and pytest-cov come from the host when it has them.\n",
  "src/calc/__init__.py": "def add(a: int, b: int) -> int:\n    return a + b\n",
  "tests/test_calc.py": "from calc import add\n\n\ndef test_add() -> None:\n    assert add(1, 2) == 3\n",
  "pyproject.toml": '[project]\nname = "calc"\nversion = "0.1.0"\n\n[tool.pytest.ini_options]\npythonpath = ["src"]\n',
};

describe("the seed python-ci.yml", () => {
  const seed = readFileSync(join(SEED_WORKFLOWS, "python-ci.yml"), "utf8");
  const scratch = mkdtempSync(join(tmpdir(), "conveyor-seed-python-env-"));
  mkdirSync(join(scratch, "no-wheels"));
  const actionCache = join(scratch, "actions");
  const env = {
    // pip can install nothing: no index, no links, no configuration files (so the host's pip stays as it is).
    PIP_NO_INDEX: "1",
    PIP_FIND_LINKS: join(scratch, "no-wheels"),
    PIP_CONFIG_FILE: "/dev/null",
    PIP_DISABLE_PIP_VERSION_CHECK: "1",
    PIP_CACHE_DIR: join(scratch, "pip-cache"),
    CONVEYOR_ACTION_CACHE: actionCache,
  };
  const probe = "import platform, sys; print(platform.python_version()); print(sys.executable)";
  const [hostVersion, hostExecutable] = (
    hostCommand("python3", ["-c", probe]) ??
    hostCommand("python", ["-c", probe]) ??
    ""
  ).split("\n");
  const hostMinor = hostVersion?.split(".").slice(0, 2).join(".");

  it(
    "runs the host's Python job, reports the other versions clearly, and skips deploy",
    () => {
      const root = repository({ ".github/workflows/python-ci.yml": seed, ...PYTHON_PROJECT });
      const report = run(root, [], env);
      expectNoCrash(report);
      expect(report.status).toBe(1);
      expect(report.conclusion).toBe("failure");

      for (const version of ["3.10", "3.11", "3.12"]) {
        const name = `test (${version})`;
        const job = report.job(name);
        // Every matrix job ran: a version this host lacks does not cancel the others (fail-fast).
        expect(job.ran, name).toBe(true);
        expect(job.result, name).not.toBe("cancelled");
        const setup = report.step(name, `Set up Python ${version}`);
        if (version === hostMinor) {
          expect(setup.outcome, setup.annotations.map((a) => a.message).join("\n")).toBe("success");
          expect(setup.log).toContain(`Using this host's Python ${hostVersion} (${hostExecutable})`);
          expectHostJobToFailOnlyAtATool(report, name);
        } else {
          expect(setup.outcome, name).toBe("failure");
          expect(job.result, name).toBe("failure");
          const message = setup.annotations.map((a) => a.message).join("\n");
          expect(message).toMatch(
            hostVersion
              ? `python-version '${version}' does not match this host's Python ${hostVersion}`
              : "No python3 or python on PATH",
          );
          if (hostVersion) expect(message).toContain(`change python-version to match (e.g. '${hostMinor}')`);
          expect(job.log.join("\n")).toContain("fail-fast does not cancel the other matrix jobs");
          // The job stops at setup-python: its later steps are skipped, not run.
          const later = job.steps.slice(job.steps.indexOf(setup) + 1);
          expect(later.map((s) => s.outcome)).toEqual(later.map(() => "skipped"));
        }
      }
      // deploy needs test, which failed: skipped, as on GitHub.
      expect(report.job("deploy")).toMatchObject({ result: "skipped", ran: false });
    },
    RUN_TIMEOUT_MS,
  );

  it(
    "fails the remote actions it uses (codecov, heroku-deploy) with a message naming each and how to get it",
    () => {
      // The seed's own `Upload coverage` step and deploy job, run where nothing before them fails.
      const workflow = parse(seed) as {
        jobs: { test: { steps: Record<string, unknown>[] }; deploy: { steps: Record<string, unknown>[] } };
      };
      const upload = workflow.jobs.test.steps.find((s) => s.name === "Upload coverage");
      expect(upload?.uses).toBe("codecov/codecov-action@v4");
      const derived = {
        on: "push",
        jobs: {
          coverage: { "runs-on": "ubuntu-latest", steps: [{ uses: "actions/checkout@v4" }, upload] },
          deploy: { "runs-on": "ubuntu-latest", steps: workflow.jobs.deploy.steps },
        },
      };
      const root = repository({ ".github/workflows/remote-actions.yml": stringify(derived) });
      const report = run(root, [], env);
      expectNoCrash(report);
      expect(report.status).toBe(1);
      for (const [job, step, owner, repo, ref] of [
        ["coverage", "Upload coverage", "codecov", "codecov-action", "v4"],
        ["deploy", "Deploy to Heroku", "akhileshns", "heroku-deploy", "v3.13.15"],
      ] as const) {
        expect(report.job(job).result).toBe("failure");
        const failed = report.step(job, step);
        expect(failed.outcome).toBe("failure");
        const message = failed.annotations.map((a) => a.message).join("\n");
        expect(message).toContain(`${owner}/${repo}@${ref} is not in the action cache`);
        expect(message).toContain(
          `git clone --depth 1 --branch ${ref} https://github.com/${owner}/${repo} ${join(actionCache, owner, repo, ref)}`,
        );
        expect(message).toContain("CONVEYOR_ACTION_CACHE");
      }
    },
    RUN_TIMEOUT_MS,
  );

  /**
   * The host's job got past setup-python; what fails after it is a tool this host lacks (ruff,
   * mypy, pytest-cov: the shell's "command not found", exit 127) or the codecov action that is not
   * in the action cache, never Conveyor.
   */
  function expectHostJobToFailOnlyAtATool(report: RunReport, name: string): void {
    const job = report.job(name);
    const failed = job.steps.find((s) => s.outcome === "failure");
    if (!failed) {
      expect(job.result).toBe("success");
      return;
    }
    const messages = failed.annotations.map((a) => a.message);
    if (failed.name === "Upload coverage") {
      expect(messages.join("\n")).toContain("codecov/codecov-action@v4 is not in the action cache");
    } else {
      expect(messages).toContainEqual(expect.stringMatching(/^Process completed with exit code \d+\.$/));
    }
    // On a host without ruff (where python's own folder does not have it either), that is where it stops.
    const folders = [dirname(hostExecutable ?? ""), ...(process.env.PATH ?? "").split(delimiter)];
    if (!onPath("ruff", folders)) {
      expect(failed.name).toBe("Lint with ruff");
      expect(failed.log.join("\n")).toMatch(/ruff: command not found/);
      expect(messages).toContain("Process completed with exit code 127.");
    }
  }
});
