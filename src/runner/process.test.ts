import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { type ChildStarter, nativeStarter, resolveCommand, startWithNode } from "./child-start.js";
import { runProcess } from "./process.js";
import type { ProcessEnd, ProcessRequest } from "./process.js";

const folder = mkdtempSync(join(tmpdir(), "conveyor-process-"));
afterAll(() => rmSync(folder, { recursive: true, force: true }));

const env = { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: folder };

interface Ran {
  readonly end: ProcessEnd;
  readonly stdout: string[];
  readonly stderr: string[];
  readonly group?: number;
}

async function run(
  start: ChildStarter,
  script: string,
  options: Partial<Omit<ProcessRequest, "onLine">> = {},
): Promise<Ran> {
  const stdout: string[] = [];
  const stderr: string[] = [];
  let group: number | undefined;
  const end = await runProcess(
    {
      command: "bash",
      args: ["-c", script],
      cwd: folder,
      env,
      onLine: (line, stream) => (stream === "stdout" ? stdout : stderr).push(line.text),
      onStarted: (pid) => (group = pid),
      ...options,
    },
    start,
  );
  return { end, stdout, stderr, group };
}

// The native starter is built by `npm run build`; the suite says so rather than quietly testing less.
const starters: [string, ChildStarter | undefined][] = [
  ["Node's spawn", startWithNode],
  ["the native starter (dist/spawn.node)", nativeStarter()],
];

describe.each(starters)("runProcess with %s", (_, starter) => {
  const start =
    starter ?? (() => expect.fail("dist/spawn.node is not built or not loadable: run `npm run build`"));

  it("streams stdout and stderr line by line and gives the exit code", async () => {
    const ran = await run(start, "echo one; echo two >&2; printf 'three'; exit 3");
    expect(ran.end).toEqual({ kind: "exited", code: 3 });
    expect(ran.stdout).toEqual(["one", "three"]);
    expect(ran.stderr).toEqual(["two"]);
  });

  it("passes exactly the environment, working directory and arguments given", async () => {
    const ran = await run(start, "", {
      args: ["-c", 'pwd; echo "$#:$1:$2"; echo "$ONLY"; echo "${HOME}"', "bash", "a b", "c"],
      env: { ...env, ONLY: "given" },
    });
    expect(ran.end).toEqual({ kind: "exited", code: 0 });
    expect(ran.stdout).toEqual([folder, "2:a b:c", "given", folder]);
  });

  it("starts the child with default signal handling, nothing blocked, and stdin empty", async () => {
    // Node itself ignores SIGPIPE; a child that inherited that would not stop on a closed pipe.
    // The mask covers the standard signals: glibc's posix_spawn leaves its two internal real-time
    // signals (32, 33) ignored, as in any child Rust's or Python's posix_spawn start.
    const ran = await run(start, "grep -E '^Sig(Ign|Blk)' /proc/self/status; cat; echo end");
    const [blocked, ignored, end] = ran.stdout.map((line) => line.split("\t")[1]);
    expect(BigInt(`0x${blocked}`)).toBe(0n);
    expect(BigInt(`0x${ignored}`) & 0x7fffffffn).toBe(0n); // signals 1 to 31
    expect(end).toBeUndefined();
    expect(ran.stdout[2]).toBe("end");
  });

  it("reports a process killed by a signal", async () => {
    const ran = await run(start, "kill -TERM $$");
    expect(ran.end).toEqual({ kind: "signalled", signal: "SIGTERM" });
  });

  it("runs the child in a process group of its own, and a timeout ends the whole group", async () => {
    const marker = join(folder, "grandchild-alive");
    const started = Date.now();
    const ran = await run(start, `(sleep 1.5; touch ${marker}) & echo "group $(ps -o pgid= $$)"; sleep 30`, {
      timeoutMs: 300,
    });
    expect(ran.end).toEqual({ kind: "timed-out" });
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(ran.stdout[0]?.replace(/\s+/g, " ")).toBe(`group ${ran.group}`);
    await new Promise((r) => setTimeout(r, 1_700));
    expect(() => writeFileSync(join(marker, "x"), "")).toThrow(); // the grandchild never ran on
  });

  it("is cancelled by its abort signal", async () => {
    const abort = new AbortController();
    setTimeout(() => abort.abort(), 200);
    const ran = await run(start, "echo started; sleep 30", { signal: abort.signal });
    expect(ran.end).toEqual({ kind: "cancelled" });
    expect(ran.stdout).toEqual(["started"]);
  });

  it("does not wait for a background child that keeps the output pipes open", async () => {
    const started = Date.now();
    const ran = await run(start, "sleep 5 & echo done");
    expect(ran.end).toEqual({ kind: "exited", code: 0 });
    expect(ran.stdout).toEqual(["done"]);
    expect(Date.now() - started).toBeLessThan(3_000);
    if (ran.group !== undefined) process.kill(-ran.group, "SIGKILL");
  });

  it("says a missing command was not found, from PATH or by path", async () => {
    for (const command of ["conveyor-no-such-program", join(folder, "no-such-program")]) {
      const ran = await run(start, "", { command, args: [] });
      expect(ran.end).toEqual({ kind: "not-started", reason: `${command}: command not found` });
    }
  });

  it("looks the command up in the child's PATH, not this process's", async () => {
    const bin = join(folder, "bin");
    rmSync(bin, { recursive: true, force: true });
    const { mkdirSync, chmodSync } = await import("node:fs");
    mkdirSync(bin);
    writeFileSync(join(bin, "conveyor-hello"), "#!/bin/sh\necho hello from PATH\n");
    chmodSync(join(bin, "conveyor-hello"), 0o755);
    const ran = await run(start, "", {
      command: "conveyor-hello",
      args: [],
      env: { ...env, PATH: `${bin}:${env.PATH}` },
    });
    expect(ran.end).toEqual({ kind: "exited", code: 0 });
    expect(ran.stdout).toEqual(["hello from PATH"]);
  });

  it("keeps up with many short processes and much output", async () => {
    const runs = await Promise.all(
      Array.from({ length: 20 }, (_, i) => run(start, `seq 1 ${1000 + i}; exit ${i % 3}`)),
    );
    runs.forEach((ran, i) => {
      expect(ran.end).toEqual({ kind: "exited", code: i % 3 });
      expect(ran.stdout).toHaveLength(1000 + i);
      expect(ran.stdout.at(-1)).toBe(String(1000 + i));
    });
  });
});

describe("resolveCommand", () => {
  it("finds a program in PATH as execvp does, and leaves paths and unknown names alone", () => {
    expect(resolveCommand("sh", "/nonexistent:/usr/bin:/bin", "/")).toMatch(/^\/(usr\/)?bin\/sh$/);
    expect(resolveCommand("./x", "/usr/bin", "/")).toBe("./x");
    expect(resolveCommand("conveyor-no-such-program", "/usr/bin", "/")).toBe("conveyor-no-such-program");
  });
});
