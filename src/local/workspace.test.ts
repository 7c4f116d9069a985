import { spawnSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import { removeFolder, WorkspaceSource } from "./workspace.js";

/** A temporary folder, removed when the test ends. */
function tempFolder(): string {
  const folder = mkdtempSync(join(tmpdir(), "conveyor-workspace-test-"));
  onTestFinished(() => rmSync(folder, { recursive: true, force: true }));
  return folder;
}

function git(cwd: string, ...args: string[]): string {
  const result = spawnSync("git", ["-c", "user.name=T", "-c", "user.email=t@example.com", ...args], {
    cwd,
    encoding: "utf8",
  });
  if (result.status !== 0) throw new Error(`git ${args.join(" ")}: ${result.stderr}`);
  return result.stdout;
}

describe("WorkspaceSource", () => {
  it("copies the working tree and gives the copy a repository of its own", async () => {
    const repository = tempFolder();
    writeFileSync(join(repository, "tracked.txt"), "committed\n");
    git(repository, "init", "-q", "-b", "main");
    git(repository, "add", "-A");
    git(repository, "commit", "-q", "-m", "first");
    writeFileSync(join(repository, "tracked.txt"), "changed\n");
    writeFileSync(join(repository, "untracked.txt"), "new\n");

    const source = await WorkspaceSource.prepare(repository, Promise.resolve(true));
    const copies = [join(tempFolder(), "a"), join(tempFolder(), "b")];
    for (const copy of copies) await source.copyTo(copy);
    await source.dispose();

    for (const copy of copies) {
      expect(readFileSync(join(copy, "tracked.txt"), "utf8")).toBe("changed\n");
      expect(readFileSync(join(copy, "untracked.txt"), "utf8")).toBe("new\n");
      expect(git(copy, "status", "--porcelain")).toBe(" M tracked.txt\n?? untracked.txt\n");
      expect(git(copy, "rev-parse", "HEAD")).toBe(git(repository, "rev-parse", "HEAD"));
    }
    // A commit in one copy is its own: not in the other, not in the repository.
    git(copies[0] as string, "commit", "-q", "-am", "in a");
    expect(git(copies[1] as string, "rev-parse", "HEAD")).toBe(git(repository, "rev-parse", "HEAD"));
    expect(git(repository, "log", "--oneline")).not.toContain("in a");
  });

  it("copies a plain folder when it is no repository, whatever the clone tried", async () => {
    const folder = tempFolder();
    mkdirSync(join(folder, "sub"));
    writeFileSync(join(folder, "sub", "file.txt"), "plain\n");
    const source = await WorkspaceSource.prepare(folder, Promise.resolve(false));
    const copy = join(tempFolder(), "copy");
    await source.copyTo(copy);
    await source.dispose();
    expect(readFileSync(join(copy, "sub", "file.txt"), "utf8")).toBe("plain\n");
    expect(existsSync(join(copy, ".git"))).toBe(false);
  });

  it("survives a clone that fails before it is known whether the folder is a repository", async () => {
    // The clone of a plain folder fails within milliseconds; the answer comes later. A rejection
    // left without a handler meanwhile would end the process (vitest reports it as an error).
    const folder = tempFolder();
    writeFileSync(join(folder, "file.txt"), "plain\n");
    const known = new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 500));
    const source = await WorkspaceSource.prepare(folder, known);
    const copy = join(tempFolder(), "copy");
    await source.copyTo(copy);
    await source.dispose();
    expect(readFileSync(join(copy, "file.txt"), "utf8")).toBe("plain\n");
  });
});

describe("removeFolder", () => {
  it("removes a tree of folders, files and links, and accepts a folder already gone", async () => {
    const root = join(tempFolder(), "tree");
    mkdirSync(join(root, "a", "b"), { recursive: true });
    writeFileSync(join(root, "a", "b", "file"), "x");
    symlinkSync("/", join(root, "a", "link-to-root"));
    await removeFolder(root);
    expect(existsSync(root)).toBe(false);
    expect(statSync("/").isDirectory()).toBe(true);
    await removeFolder(root);
  });
});
