import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  NULL_SHA,
  localUser,
  loginFromEmail,
  loginFromName,
  parseRemoteUrl,
  parseStatus,
  placeholderId,
  readRepositoryState,
  resolveHead,
} from "./repository-state.js";

// Every repository lives under one folder git may not look above, with no global or system config,
// so the user's own git setup cannot leak in.
const sandbox = realpathSync(mkdtempSync(join(tmpdir(), "conveyor-git-state-")));
afterAll(() => rmSync(sandbox, { recursive: true, force: true }));

const globalConfig = join(sandbox, "global.gitconfig");
writeFileSync(globalConfig, "");

const DATE = "2024-01-02T03:04:05+01:00";
const env: NodeJS.ProcessEnv = {
  PATH: process.env.PATH,
  HOME: sandbox,
  GIT_CONFIG_GLOBAL: globalConfig,
  GIT_CONFIG_NOSYSTEM: "1",
  GIT_CEILING_DIRECTORIES: sandbox,
  GIT_AUTHOR_DATE: DATE,
  GIT_COMMITTER_DATE: DATE,
};

let folders = 0;
function folder(name = "repo"): string {
  const dir = join(sandbox, String(++folders), name);
  mkdirSync(dir, { recursive: true });
  return dir;
}

function git(dir: string, ...args: string[]): string {
  return execFileSync("git", args, { cwd: dir, env, encoding: "utf8" }).trim();
}

function write(dir: string, path: string, text = `${path}\n`): void {
  mkdirSync(join(dir, path, ".."), { recursive: true });
  writeFileSync(join(dir, path), text);
}

/** A repository on `main` whose user is Jane Doe. */
function repository(name?: string, branch = "main"): string {
  const dir = folder(name);
  git(dir, "init", "-q", "-b", branch);
  git(dir, "config", "user.name", "Jane Doe");
  git(dir, "config", "user.email", "jane@example.com");
  return dir;
}

function commit(dir: string, message: string, files: Record<string, string | null>): string {
  for (const [path, text] of Object.entries(files)) {
    if (text === null) git(dir, "rm", "-q", path);
    else {
      write(dir, path, text);
      git(dir, "add", path);
    }
  }
  git(dir, "commit", "-q", "-m", message);
  return git(dir, "rev-parse", "HEAD");
}

const read = (dir: string) => readRepositoryState(dir, { env });

describe("readRepositoryState on a branch", () => {
  const dir = repository();
  const first = commit(dir, "first", { "a.txt": "a", "b.txt": "b", "c.txt": "c" });
  const second = commit(dir, "Change things\n\nWith a body line.\n", {
    "a.txt": "a2",
    "b.txt": null,
    "src/new.ts": "x",
  });

  it("reads the ref, HEAD and the previous commit", async () => {
    const state = await read(dir);
    expect(state.isGitRepository).toBe(true);
    expect(state.root).toBe(dir);
    expect(state.ref).toBe("refs/heads/main");
    expect(state.refType).toBe("branch");
    expect(state.refName).toBe("main");
    expect(state.detached).toBe(false);
    expect(state.headSha).toBe(second);
    expect(state.previousSha).toBe(first);
    expect(state.defaultBranch).toBe("main");
    expect(state.defaultBranchSha).toBe(second);
    expect(state.branchesAtHead).toEqual(["main"]);
    expect(state.warnings).toEqual([]);
  });

  it("reads the head commit as GitHub describes it", async () => {
    const { headCommit } = await read(dir);
    expect(headCommit).toEqual({
      id: second,
      treeId: git(dir, "rev-parse", "HEAD^{tree}"),
      parents: [first],
      message: "Change things\n\nWith a body line.",
      author: { name: "Jane Doe", email: "jane@example.com", date: DATE },
      committer: { name: "Jane Doe", email: "jane@example.com", date: DATE },
      files: { added: ["src/new.ts"], removed: ["b.txt"], modified: ["a.txt"] },
    });
  });

  it("takes the user from git config and, without a remote, owner and name from it and the folder", async () => {
    const state = await read(dir);
    expect(state.user).toEqual({ name: "Jane Doe", email: "jane@example.com", login: "Jane-Doe" });
    expect(state.remote).toBeNull();
    expect(state.owner).toBe("Jane-Doe");
    expect(state.name).toBe(dir.split("/").pop());
  });

  it("reports HEAD's files as the changed files of a clean tree", async () => {
    expect((await read(dir)).changedFiles).toEqual(["a.txt", "b.txt", "src/new.ts"]);
  });

  it("reads the same facts from a subfolder", async () => {
    const state = await read(join(dir, "src"));
    expect(state.root).toBe(dir);
    expect(state.changedFiles).toEqual(["a.txt", "b.txt", "src/new.ts"]);
  });
});

describe("readRepositoryState without history", () => {
  it("gives the null sha as the previous commit of a first commit, and all its files as added", async () => {
    const dir = repository();
    const sha = commit(dir, "initial", { "one.txt": "1", "two/three.txt": "3" });
    const state = await read(dir);
    expect(state.headSha).toBe(sha);
    expect(state.previousSha).toBe(NULL_SHA);
    expect(state.headCommit?.files).toEqual({
      added: ["one.txt", "two/three.txt"],
      removed: [],
      modified: [],
    });
  });

  it("reads a merge against its first parent, as a push of the merge compares", async () => {
    const dir = repository();
    commit(dir, "base", { "base.txt": "b" });
    git(dir, "checkout", "-q", "-b", "topic");
    const topic = commit(dir, "topic work", { "topic.txt": "t" });
    git(dir, "checkout", "-q", "main");
    const main = commit(dir, "main work", { "main.txt": "m" });
    git(dir, "merge", "-q", "--no-ff", "--no-edit", "topic");
    const state = await read(dir);
    expect(state.headCommit?.parents).toEqual([main, topic]);
    expect(state.previousSha).toBe(main);
    expect(state.headCommit?.files).toEqual({ added: ["topic.txt"], removed: [], modified: [] });
    expect(state.changedFiles).toEqual(["topic.txt"]);
  });

  it("reads an empty repository: the unborn branch, no commit, the files waiting to be committed", async () => {
    const dir = repository(undefined, "trunk");
    write(dir, "staged.txt");
    git(dir, "add", "staged.txt");
    write(dir, "loose.txt");
    const state = await read(dir);
    expect(state.isGitRepository).toBe(true);
    expect(state.ref).toBe("refs/heads/trunk");
    expect(state.detached).toBe(false);
    expect(state.headSha).toBe(NULL_SHA);
    expect(state.previousSha).toBe(NULL_SHA);
    expect(state.headCommit).toBeNull();
    expect(state.defaultBranch).toBe("trunk");
    expect(state.defaultBranchSha).toBeNull();
    expect(state.changedFiles).toEqual(["loose.txt", "staged.txt"]);
    expect(state.warnings).toEqual([]);
  });
});

describe("readRepositoryState on a detached HEAD", () => {
  const dir = repository();
  const first = commit(dir, "one", { "f.txt": "1" });
  const second = commit(dir, "two", { "f.txt": "2" });
  git(dir, "tag", "-a", "v1.9.0", "-m", "release 1.9.0", first);
  git(dir, "tag", "v1.10.0", first);
  git(dir, "tag", "v2.0.0", second);

  it("names the tag HEAD was checked out at (the highest version when several are)", async () => {
    git(dir, "checkout", "-q", "--detach", "v1.9.0");
    const state = await read(dir);
    expect(state.ref).toBe("refs/tags/v1.10.0");
    expect(state.refType).toBe("tag");
    expect(state.refName).toBe("v1.10.0");
    expect(state.detached).toBe(true);
    expect(state.headSha).toBe(first);
    expect(state.warnings).toEqual([]);
  });

  it("prefers the checked-out branch over a tag on the same commit", async () => {
    git(dir, "checkout", "-q", "main");
    expect((await read(dir)).ref).toBe("refs/heads/main");
  });

  it("names a branch whose tip is HEAD when no tag is", async () => {
    git(dir, "tag", "-d", "v2.0.0");
    git(dir, "checkout", "-q", "--detach", "main");
    const state = await read(dir);
    expect(state.ref).toBe("refs/heads/main");
    expect(state.detached).toBe(true);
    expect(state.warnings).toEqual([]);
  });

  it("falls back to the default branch, with a warning, when nothing points at HEAD", async () => {
    const third = commit(dir, "three", { "f.txt": "3" });
    git(dir, "checkout", "-q", "--detach", `${third}~1`);
    git(dir, "branch", "-q", "-f", "main", third);
    const state = await read(dir);
    expect(state.ref).toBe("refs/heads/main");
    expect(state.headSha).toBe(second);
    expect(state.detached).toBe(true);
    expect(state.defaultBranch).toBe("main");
    expect(state.warnings.map((w) => w.message)).toEqual([
      `HEAD is detached at ${second.slice(0, 12)} and no branch or tag points at it: running as if on the default branch 'main'.`,
    ]);
  });
});

describe("readRepositoryState and the origin remote", () => {
  it("reads owner and name from a GitHub SSH remote and the default branch from origin/HEAD", async () => {
    const dir = repository();
    const first = commit(dir, "one", { "f.txt": "1" });
    commit(dir, "two", { "f.txt": "2" });
    git(dir, "remote", "add", "origin", "git@github.com:octo-org/hello-world.git");
    git(dir, "update-ref", "refs/remotes/origin/develop", first);
    git(dir, "symbolic-ref", "refs/remotes/origin/HEAD", "refs/remotes/origin/develop");
    const state = await read(dir);
    expect(state.remote).toEqual({
      url: "git@github.com:octo-org/hello-world.git",
      host: "github.com",
      owner: "octo-org",
      name: "hello-world",
    });
    expect(state.owner).toBe("octo-org");
    expect(state.name).toBe("hello-world");
    expect(state.defaultBranch).toBe("develop");
    expect(state.defaultBranchSha).toBe(first);
  });

  it("reads owner and name from an HTTPS remote on any host", async () => {
    const dir = repository();
    commit(dir, "one", { "f.txt": "1" });
    git(dir, "remote", "add", "origin", "https://git.example.com/team/service");
    const state = await read(dir);
    expect([state.owner, state.name, state.remote?.host]).toEqual(["team", "service", "git.example.com"]);
    expect(state.defaultBranch).toBe("main");
  });

  it("warns and uses local names when origin is a path", async () => {
    const dir = repository("checkout");
    commit(dir, "one", { "f.txt": "1" });
    git(dir, "remote", "add", "origin", "/srv/git/upstream.git");
    const state = await read(dir);
    expect([state.owner, state.name, state.remote]).toEqual(["Jane-Doe", "checkout", null]);
    expect(state.warnings.map((w) => w.message)).toEqual([
      "cannot read an owner and a name from origin's URL '/srv/git/upstream.git': using local ones.",
    ]);
  });
});

describe("readRepositoryState and uncommitted changes", () => {
  it("adds modified, staged, renamed, deleted and untracked files, not ignored ones", async () => {
    const dir = repository();
    commit(dir, "one", {
      ".gitignore": "*.log\nbuild/\n",
      "keep.txt": "k",
      "old name.txt": "o",
      "gone.txt": "g",
    });
    commit(dir, "two", { "keep.txt": "k2" });
    write(dir, "keep.txt", "k3");
    git(dir, "mv", "old name.txt", "new name.txt");
    git(dir, "rm", "-q", "gone.txt");
    write(dir, "staged/added.ts");
    git(dir, "add", "staged/added.ts");
    write(dir, "deep/er/untracked.md");
    write(dir, "debug.log");
    write(dir, "build/out.js");
    const state = await read(dir);
    expect(state.changedFiles).toEqual([
      "deep/er/untracked.md",
      "gone.txt",
      "keep.txt",
      "new name.txt",
      "old name.txt",
      "staged/added.ts",
    ]);
  });
});

describe("readRepositoryState outside a repository", () => {
  it("gives a plain-folder state with placeholders and says why", async () => {
    const dir = folder("plain-project");
    write(dir, "README.md");
    const state = await read(dir);
    expect(state).toEqual({
      isGitRepository: false,
      root: dir,
      owner: "local",
      name: "plain-project",
      remote: null,
      ref: "refs/heads/main",
      refType: "branch",
      refName: "main",
      detached: false,
      headSha: NULL_SHA,
      previousSha: NULL_SHA,
      headCommit: null,
      branchesAtHead: [],
      defaultBranch: "main",
      defaultBranchSha: null,
      changedFiles: undefined,
      user: { name: "", email: "", login: "local" },
      warnings: [
        {
          severity: "warning",
          message:
            "not a git repository: github.sha is 0000000..., the ref refs/heads/main, and paths filters do not filter.",
        },
      ],
    });
  });

  it("still knows the user from the global config", async () => {
    const home = folder("home");
    const config = join(home, ".gitconfig");
    writeFileSync(config, "[user]\n\tname = Zoë Smith\n\temail = 42+zsmith@users.noreply.github.com\n");
    const dir = folder("plain");
    const state = await readRepositoryState(dir, { env: { ...env, GIT_CONFIG_GLOBAL: config } });
    expect(state.isGitRepository).toBe(false);
    expect(state.user).toEqual({
      name: "Zoë Smith",
      email: "42+zsmith@users.noreply.github.com",
      login: "zsmith",
    });
    expect(state.owner).toBe("zsmith");
  });

  it("says so when git is not installed", async () => {
    const dir = folder("no-git");
    const state = await readRepositoryState(dir, { env: { ...env, PATH: join(sandbox, "empty-path") } });
    expect(state.isGitRepository).toBe(false);
    expect(state.warnings.map((w) => w.message)).toEqual([
      "git is not installed (or not on PATH): running the folder as a plain folder, without git facts.",
    ]);
  });

  it("says so when a shell is there but git is not", async () => {
    const dir = folder("shell-without-git");
    const bin = folder("only-sh");
    symlinkSync("/bin/sh", join(bin, "sh"));
    const state = await readRepositoryState(dir, { env: { ...env, PATH: bin } });
    expect(state.isGitRepository).toBe(false);
    expect(state.warnings.map((w) => w.message)).toEqual([
      "git is not installed (or not on PATH): running the folder as a plain folder, without git facts.",
    ]);
  });
});

describe("parseRemoteUrl", () => {
  it.each([
    ["git@github.com:octo/hello.git", "github.com", "octo", "hello"],
    ["git@github.com:octo/hello", "github.com", "octo", "hello"],
    ["ssh://git@github.com/octo/hello.git", "github.com", "octo", "hello"],
    ["ssh://git@github.com:22/octo/hello.git/", "github.com", "octo", "hello"],
    ["https://github.com/octo/hello.git", "github.com", "octo", "hello"],
    ["https://x-access-token:secret@github.com/octo/hello", "github.com", "octo", "hello"],
    ["http://gitea.local:3000/team/app.git", "gitea.local", "team", "app"],
    ["git://github.com/octo/hello.git", "github.com", "octo", "hello"],
    ["git@gitlab.com:group/subgroup/project.git", "gitlab.com", "group/subgroup", "project"],
    ["https://example.com/my%20org/my.repo.git", "example.com", "my org", "my.repo"],
  ])("reads %s", (url, host, owner, name) => {
    expect(parseRemoteUrl(url)).toEqual({ url, host, owner, name });
  });

  it.each([
    "/srv/git/hello.git",
    "../hello",
    "file:///srv/git/hello.git",
    "C:\\repos\\hello",
    "https://github.com/hello",
    "",
  ])("names no forge repository for %s", (url) => {
    expect(parseRemoteUrl(url)).toBeUndefined();
  });
});

describe("identities", () => {
  it("reads the login from GitHub's noreply addresses only", () => {
    expect(loginFromEmail("12345+octocat@users.noreply.github.com")).toBe("octocat");
    expect(loginFromEmail("octo-cat@users.noreply.github.com")).toBe("octo-cat");
    expect(loginFromEmail("octocat@users.noreply.ghe.example.com")).toBe("octocat");
    expect(loginFromEmail("octocat@github.com")).toBeUndefined();
  });

  it("makes a name into a login", () => {
    expect(loginFromName("Jane Doe")).toBe("Jane-Doe");
    expect(loginFromName("  Zoë  O'Brien ")).toBe("Zoe-O-Brien");
    expect(loginFromName("李")).toBe("");
    expect(loginFromName("a".repeat(50))).toHaveLength(39);
  });

  it("prefers the noreply login, then the name, then 'local'", () => {
    expect(localUser("Jane Doe", "1+jd@users.noreply.github.com").login).toBe("jd");
    expect(localUser("Jane Doe", "jane@example.com").login).toBe("Jane-Doe");
    expect(localUser("", "").login).toBe("local");
  });

  it("gives stable positive ids that differ by name, ignoring case", () => {
    const id = placeholderId("octo/hello");
    expect(id).toBe(placeholderId("Octo/Hello"));
    expect(id).not.toBe(placeholderId("octo/world"));
    expect(Number.isInteger(id) && id > 0 && id < 2 ** 31).toBe(true);
  });
});

describe("resolveHead", () => {
  const facts = { currentBranch: null, tags: [], branchesAtHead: [], defaultBranch: "main" };

  it("prefers the current branch, then a tag, then a branch tip (the default first), then guesses", () => {
    expect(resolveHead({ ...facts, currentBranch: "feature", tags: ["v1"] })).toEqual({
      type: "branch",
      name: "feature",
      guessed: false,
    });
    expect(resolveHead({ ...facts, tags: ["v1.2.0", "v1.10.0-rc.1", "v1.9.9"] }).name).toBe("v1.10.0-rc.1");
    expect(resolveHead({ ...facts, branchesAtHead: ["a", "main"] })).toEqual({
      type: "branch",
      name: "main",
      guessed: false,
    });
    expect(resolveHead({ ...facts, branchesAtHead: ["b", "c"] }).name).toBe("b");
    expect(resolveHead(facts)).toEqual({ type: "branch", name: "main", guessed: true });
  });
});

describe("parseStatus", () => {
  it("reads the branch and every kind of entry, paths with spaces included", () => {
    const output = [
      "# branch.oid 1111111111111111111111111111111111111111",
      "# branch.head feature/x",
      "1 .M N... 100644 100644 100644 aaaa aaaa changed file.txt",
      "2 R. N... 100644 100644 100644 aaaa aaaa R100 new name.txt",
      "old name.txt",
      "u UU N... 100644 100644 100644 100644 aaaa bbbb cccc conflict.txt",
      "? untracked dir/file.md",
      "",
    ].join("\0");
    expect(parseStatus(output)).toEqual({
      headSha: "1111111111111111111111111111111111111111",
      branch: "feature/x",
      paths: ["changed file.txt", "new name.txt", "old name.txt", "conflict.txt", "untracked dir/file.md"],
    });
    expect(parseStatus("# branch.oid (initial)\0# branch.head (detached)\0")).toEqual({
      headSha: null,
      branch: null,
      paths: [],
    });
  });
});
