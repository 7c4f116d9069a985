/**
 * One `git cat-file --batch --follow-symlinks` process that answers object requests in order,
 * so reading several files of a commit costs one process. `<rev>:<path>` requests follow
 * symbolic links inside the repository, as reading a checkout would.
 */
import { spawn } from "node:child_process";
import type { ChildProcessWithoutNullStreams } from "node:child_process";

export type BatchAnswer =
  | { readonly found: true; readonly oid: string; readonly type: string; readonly content: Buffer }
  /** `missing` or `ambiguous`; with symlinks, `dangling`, `loop`, `notdir` or `symlink` (one leading out of the repository). */
  | { readonly found: false; readonly reason: string };

interface Waiting {
  readonly resolve: (answer: BatchAnswer) => void;
  readonly reject: (reason: Error) => void;
}

const OBJECT_HEADER = /^([0-9a-f]{40}|[0-9a-f]{64}) ([a-z]+) (\d+)$/;
const SYMLINK_HEADER = /^(dangling|loop|notdir|symlink) (\d+)$/;

export class CatFileBatch {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly waiting: Waiting[] = [];
  private chunks: Buffer[] = [];
  private length = 0;
  /** The answer whose content is being read, with the content's size. */
  private current: { readonly size: number; readonly answer: (content: Buffer) => BatchAnswer } | undefined;
  private failure: Error | undefined;

  constructor(repositoryPath: string, env?: NodeJS.ProcessEnv) {
    this.child = spawn("git", ["-C", repositoryPath, "cat-file", "--batch", "--follow-symlinks"], {
      env: env ?? process.env,
    });
    this.child.stdout.on("data", (chunk: Buffer) => this.receive(chunk));
    let stderr = "";
    this.child.stderr.on("data", (chunk: Buffer) => {
      stderr = (stderr + chunk.toString("utf8")).slice(-2048);
    });
    this.child.stdin.on("error", () => undefined); // reported through 'error' or 'close' below
    this.child.on("error", (e) => this.fail(new Error(`cannot run git cat-file: ${e.message}`)));
    this.child.on("close", (code) => this.fail(new Error(`git cat-file ended (${code}): ${stderr.trim()}`)));
  }

  /** The object `spec` names (`<oid>`, `<rev>:<path>`). */
  read(spec: string): Promise<BatchAnswer> {
    if (/[\n\0]/.test(spec)) return Promise.reject(new Error("an object name cannot hold a newline or NUL"));
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      this.child.stdin.write(`${spec}\n`);
    });
  }

  /** Ends the process; answers still due are refused. */
  close(): void {
    this.child.stdin.end();
  }

  private receive(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.length += chunk.length;
    for (;;) {
      if (this.current) {
        // The content and the newline after it.
        if (this.length < this.current.size + 1) return;
        const bytes = this.take(this.current.size + 1);
        const answer = this.current.answer(bytes.subarray(0, this.current.size));
        this.current = undefined;
        this.waiting.shift()?.resolve(answer);
        continue;
      }
      const pending = this.chunks.length === 1 ? (this.chunks[0] as Buffer) : Buffer.concat(this.chunks);
      const newline = pending.indexOf(0x0a);
      if (newline === -1) return;
      const header = pending.toString("utf8", 0, newline);
      this.chunks = [pending.subarray(newline + 1)];
      this.length = pending.length - newline - 1;
      const object = OBJECT_HEADER.exec(header);
      const symlink = SYMLINK_HEADER.exec(header);
      if (object) {
        const [, oid = "", type = ""] = object;
        this.current = {
          size: Number(object[3]),
          answer: (content) => ({ found: true, oid, type, content }),
        };
      } else if (symlink) {
        const reason = symlink[1] as string;
        this.current = { size: Number(symlink[2]), answer: () => ({ found: false, reason }) };
      } else {
        this.waiting.shift()?.resolve({ found: false, reason: header.slice(header.lastIndexOf(" ") + 1) });
      }
    }
  }

  /** The next `count` bytes received (there are at least that many). */
  private take(count: number): Buffer {
    const all = this.chunks.length === 1 ? (this.chunks[0] as Buffer) : Buffer.concat(this.chunks);
    this.chunks = [all.subarray(count)];
    this.length = all.length - count;
    return all.subarray(0, count);
  }

  private fail(reason: Error): void {
    this.failure ??= reason;
    for (const waiting of this.waiting.splice(0)) waiting.reject(reason);
  }
}
