import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { NULL_SHA } from "../../git/repository-state.js";
import { RepositoryFolders } from "./bare-repositories.js";
import { gitSandbox } from "./git-test-sandbox.js";
import { confirmRefUpdates } from "./ref-updates.js";

const sandbox = gitSandbox();
afterAll(() => sandbox.remove());
const folders = new RepositoryFolders(join(sandbox.root, "repositories"), { env: sandbox.env });

describe("RepositoryFolders", () => {
  it("creates a bare repository on main that accepts pushes over HTTP", async () => {
    const created = await folders.create("Octo", "Hello");
    expect(created).toEqual({ ok: true, value: join(sandbox.root, "repositories", "octo", "hello.git") });
    const path = folders.pathOf("octo", "hello");
    expect(await sandbox.git(path, "rev-parse", "--is-bare-repository")).toBe("true");
    expect(await sandbox.git(path, "symbolic-ref", "HEAD")).toBe("refs/heads/main");
    expect(await sandbox.git(path, "config", "http.receivepack")).toBe("true");
    expect(existsSync(join(path, "hooks"))).toBe(false); // no sample hooks
    expect(await folders.exists("OCTO", "hello")).toBe(true);
    expect(await folders.exists("octo", "other")).toBe(false);
  });

  it("refuses an existing repository, whatever the case, and bad names", async () => {
    await folders.create("dup", "repo");
    expect(await folders.create("Dup", "REPO")).toEqual({
      ok: false,
      errors: [
        {
          severity: "error",
          message: "repository Dup/REPO exists already: choose another name, or delete that one first.",
        },
      ],
    });
    const bad = await folders.create("..", "x");
    expect(bad.ok).toBe(false);
    expect(readdirSync(join(sandbox.root, "repositories"))).not.toContain("..");
    expect(() => folders.pathOf("a", "../b")).toThrow(/checkRepositoryName/);
  });

  it("creates one repository when asked twice at once", async () => {
    const results = await Promise.all([folders.create("race", "r"), folders.create("race", "r")]);
    expect(results.filter((r) => r.ok)).toHaveLength(1);
  });

  it("takes another default branch, and says why one is refused", async () => {
    await folders.create("branches", "trunk", { defaultBranch: "trunk" });
    expect(await sandbox.git(folders.pathOf("branches", "trunk"), "symbolic-ref", "HEAD")).toBe(
      "refs/heads/trunk",
    );
    const bad = await folders.create("branches", "bad", { defaultBranch: "a..b" });
    expect(bad.ok ? "" : bad.errors[0]?.message).toMatch(/^cannot create repository branches\/bad: .*branch/);
    expect(await folders.exists("branches", "bad")).toBe(false);
  });

  it("resolves branches and tags to commits", async () => {
    await folders.create("refs", "repo");
    const path = folders.pathOf("refs", "repo");
    const work = sandbox.folder();
    await sandbox.git(work, "init", "-q", "-b", "main");
    const commit = await sandbox.commit(work, "one");
    await sandbox.git(work, "tag", "-a", "v1", "-m", "v1");
    await sandbox.git(work, "push", "-q", path, "main", "v1", "main:refs/heads/v1-branch");
    expect(await folders.resolveRef("refs", "repo", "main")).toBe(commit);
    expect(await folders.resolveRef("refs", "repo", "refs/heads/main")).toBe(commit);
    expect(await folders.resolveRef("refs", "repo", "v1")).toBe(commit); // the tag's commit, not the tag
    expect(await folders.resolveRef("refs", "repo", "missing")).toBeUndefined();
    expect(await folders.resolveRef("refs", "repo", "--all")).toBeUndefined();
    expect(await folders.resolveRef("refs", "repo", "ma*")).toBeUndefined();
    expect(await folders.resolveRef("nobody", "repo", "main")).toBeUndefined();
  });

  it("removes a repository, and its owner's folder with the last one", async () => {
    await folders.create("gone", "one");
    await folders.create("gone", "two");
    expect(await folders.remove("gone", "one")).toBe(true);
    expect(existsSync(join(sandbox.root, "repositories", "gone"))).toBe(true);
    expect(await folders.remove("gone", "two")).toBe(true);
    expect(existsSync(join(sandbox.root, "repositories", "gone"))).toBe(false);
    expect(await folders.remove("gone", "two")).toBe(false);
  });
});

describe("confirmRefUpdates", () => {
  it("reads packed refs and loose ones, and drops commands git did not carry out", async () => {
    await folders.create("confirm", "repo");
    const path = folders.pathOf("confirm", "repo");
    const work = sandbox.folder();
    await sandbox.git(work, "init", "-q", "-b", "main");
    const first = await sandbox.commit(work, "one");
    await sandbox.git(work, "push", "-q", path, "main", "main:packed");
    await sandbox.git(path, "pack-refs", "--all");
    const second = await sandbox.commit(work, "two");
    await sandbox.git(work, "push", "-q", path, "main");
    const updates = await confirmRefUpdates(
      path,
      [
        { ref: "refs/heads/main", before: first, after: second }, // loose
        { ref: "refs/heads/packed", before: NULL_SHA, after: first }, // packed only
        { ref: "refs/heads/refused", before: NULL_SHA, after: first }, // never made
        { ref: "refs/heads/packed", before: first, after: NULL_SHA }, // a deletion that did not happen
        { ref: "refs/heads/../../config", before: NULL_SHA, after: first },
      ],
      sandbox.env,
    );
    expect(updates).toEqual([
      { ref: "refs/heads/main", before: first, after: second, created: false, deleted: false, forced: false },
      {
        ref: "refs/heads/packed",
        before: NULL_SHA,
        after: first,
        created: true,
        deleted: false,
        forced: false,
      },
    ]);
  });
});
