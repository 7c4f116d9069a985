import { symlinkSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RepositoryFolders } from "./bare-repositories.js";
import { gitSandbox } from "./git-test-sandbox.js";
import { readFileAt, readWorkflowFilesAt, treeEntries } from "./workflow-files.js";

const sandbox = gitSandbox();
const folders = new RepositoryFolders(join(sandbox.root, "repositories"), { env: sandbox.env });
let bare = "";
let work = "";
afterAll(() => sandbox.remove());
beforeAll(async () => {
  await folders.create("octo", "flows");
  bare = folders.pathOf("octo", "flows");
  work = sandbox.folder();
  await sandbox.git(work, "init", "-q", "-b", "main");
});

/** Commits `files` (and removes `gone`) and pushes; returns the commit. */
async function commitAndPush(files: Record<string, string>, gone: string[] = []): Promise<string> {
  for (const path of gone) await sandbox.git(work, "rm", "-q", "-r", path);
  const sha = await sandbox.commit(work, "change", files);
  await sandbox.git(work, "push", "-q", bare, "HEAD:refs/heads/main");
  return sha;
}

describe("readWorkflowFilesAt", () => {
  it("reads the top-level YAML files of .github/workflows, sorted, nothing else", async () => {
    const sha = await commitAndPush({
      ".github/workflows/z.yml": "name: z\n",
      ".github/workflows/a.yaml": "name: a ✓\n",
      ".github/workflows/notes.md": "not a workflow",
      ".github/workflows/nested/deep.yml": "name: deep\n",
      "ci.yml": "name: top\n",
    });
    const files = await readWorkflowFilesAt(bare, sha, sandbox.env);
    expect(files).toEqual({
      ".github/workflows/a.yaml": "name: a ✓\n",
      ".github/workflows/z.yml": "name: z\n",
    });
    expect(Object.keys(files)).toEqual([".github/workflows/a.yaml", ".github/workflows/z.yml"]);
  });

  it("follows a symbolic link inside the repository", async () => {
    sandbox.write(work, "shared/base.yml", "name: linked\n");
    symlinkSync("../../shared/base.yml", join(work, ".github/workflows/linked.yml"));
    const sha = await commitAndPush({});
    expect((await readWorkflowFilesAt(bare, sha, sandbox.env))[".github/workflows/linked.yml"]).toBe(
      "name: linked\n",
    );
  });

  it("prefers .gitea/workflows, and .forgejo/workflows over both, when they have YAML files", async () => {
    const gitea = await commitAndPush({
      ".gitea/workflows/g.yml": "name: gitea\n",
      ".forgejo/workflows/readme.txt": "x",
    });
    expect(Object.keys(await readWorkflowFilesAt(bare, gitea, sandbox.env))).toEqual([
      ".gitea/workflows/g.yml",
    ]);
    const forgejo = await commitAndPush({ ".forgejo/workflows/f.yml": "name: forgejo\n" });
    expect(await readWorkflowFilesAt(bare, forgejo, sandbox.env)).toEqual({
      ".forgejo/workflows/f.yml": "name: forgejo\n",
    });
    // An earlier commit still reads as it was.
    expect(Object.keys(await readWorkflowFilesAt(bare, gitea, sandbox.env))).toEqual([
      ".gitea/workflows/g.yml",
    ]);
  });

  it("gives nothing for a commit without workflows, and refuses a revision that is not one", async () => {
    const sha = await commitAndPush({ "README.md": "x" }, [".github", ".gitea", ".forgejo"]);
    expect(await readWorkflowFilesAt(bare, sha, sandbox.env)).toEqual({});
    expect(await readWorkflowFilesAt(bare, "0".repeat(40), sandbox.env)).toEqual({});
    await expect(readWorkflowFilesAt(bare, "main:README.md", sandbox.env)).rejects.toThrow(/not a revision/);
  });
});

describe("readFileAt", () => {
  it("reads a reusable workflow by its path, with or without ./", async () => {
    const sha = await commitAndPush({ ".github/workflows/reuse.yml": "on: workflow_call\n" });
    expect(await readFileAt(bare, sha, "./.github/workflows/reuse.yml", sandbox.env)).toBe(
      "on: workflow_call\n",
    );
    expect(await readFileAt(bare, sha, ".github/workflows/reuse.yml", sandbox.env)).toBe(
      "on: workflow_call\n",
    );
    expect(await readFileAt(bare, "main", ".github/workflows/reuse.yml", sandbox.env)).toBe(
      "on: workflow_call\n",
    );
  });

  it("gives undefined for a missing file, a folder, or a path leaving the repository", async () => {
    const sha = await commitAndPush({ "dir/file.txt": "x" });
    for (const path of ["missing.yml", "dir", "../config", "dir/../../x", "/etc/passwd", "a\nb", ""]) {
      expect(await readFileAt(bare, sha, path, sandbox.env)).toBeUndefined();
    }
  });
});

describe("treeEntries", () => {
  it("reads modes and names of a raw tree object", () => {
    const oid = Buffer.alloc(20, 7);
    const tree = Buffer.concat([Buffer.from("100644 a.yml\0"), oid, Buffer.from("40000 dir\0"), oid]);
    expect(treeEntries(tree, 20)).toEqual([
      { mode: "100644", name: "a.yml" },
      { mode: "40000", name: "dir" },
    ]);
  });
});
