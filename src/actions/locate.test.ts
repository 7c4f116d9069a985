import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { formatDiagnostic } from "../diagnostic.js";
import {
  actionDirectory,
  cachedCheckoutDirectory,
  cloneCommand,
  containerSupportProblem,
  defaultActionCache,
  loadAction,
  locateAction,
  missingActionMessage,
} from "./locate.js";
import type { ActionRoots, LocatedAction } from "./locate.js";
import { parseActionReference } from "./reference.js";
import type { ActionReference, LocalActionReference, RemoteActionReference } from "./reference.js";

function reference(uses: string): ActionReference {
  const result = parseActionReference(uses);
  if (!result.ok) throw new Error(result.errors.map(formatDiagnostic).join("\n"));
  return result.value;
}

function remote(uses: string): RemoteActionReference {
  const r = reference(uses);
  if (r.kind !== "remote") throw new Error(`${uses} is not remote`);
  return r;
}

function local(uses: string): LocalActionReference {
  const r = reference(uses);
  if (r.kind !== "local") throw new Error(`${uses} is not local`);
  return r;
}

const ROOTS: ActionRoots = { workspace: "/work/repo", actionCache: "/home/u/.cache/conveyor/actions" };
const SHA = "11bd71901bbe5b1630ceea73d27597364c9af683";

describe("defaultActionCache", () => {
  it("uses CONVEYOR_ACTION_CACHE when it is set", () => {
    expect(defaultActionCache({ CONVEYOR_ACTION_CACHE: "/srv/actions" }, "/home/u")).toBe("/srv/actions");
    expect(defaultActionCache({ CONVEYOR_ACTION_CACHE: "~/acts" }, "/home/u")).toBe("/home/u/acts");
  });

  it("defaults to ~/.cache/conveyor/actions, or under XDG_CACHE_HOME when that is absolute", () => {
    expect(defaultActionCache({}, "/home/u")).toBe("/home/u/.cache/conveyor/actions");
    expect(defaultActionCache({ CONVEYOR_ACTION_CACHE: "  " }, "/home/u")).toBe(
      "/home/u/.cache/conveyor/actions",
    );
    expect(defaultActionCache({ XDG_CACHE_HOME: "/var/cache/u" }, "/home/u")).toBe(
      "/var/cache/u/conveyor/actions",
    );
    expect(defaultActionCache({ XDG_CACHE_HOME: "relative" }, "/home/u")).toBe(
      "/home/u/.cache/conveyor/actions",
    );
  });
});

describe("action paths", () => {
  it("puts a remote action's repository at <cache>/<owner>/<repo>/<ref>", () => {
    expect(cachedCheckoutDirectory(remote("actions/checkout@v4"), ROOTS.actionCache)).toBe(
      "/home/u/.cache/conveyor/actions/actions/checkout/v4",
    );
    expect(cachedCheckoutDirectory(remote("o/r@feature/x"), "/c")).toBe("/c/o/r/feature/x");
  });

  it("finds a remote action's folder inside its repository, and a local one in the workspace", () => {
    expect(actionDirectory(remote(`owner/repo/sub/dir@${SHA}`), ROOTS)).toBe(
      `/home/u/.cache/conveyor/actions/owner/repo/${SHA}/sub/dir`,
    );
    expect(actionDirectory(remote("actions/checkout@v4"), ROOTS)).toBe(
      "/home/u/.cache/conveyor/actions/actions/checkout/v4",
    );
    expect(actionDirectory(local("./.github/actions/x"), ROOTS)).toBe("/work/repo/.github/actions/x");
    expect(actionDirectory(local("./"), ROOTS)).toBe("/work/repo");
  });
});

describe("cloneCommand", () => {
  it("clones a tag or branch shallowly into the cache layout", () => {
    expect(cloneCommand(remote("actions/checkout@v4"), ROOTS.actionCache)).toBe(
      "git clone --depth 1 --branch v4 https://github.com/actions/checkout /home/u/.cache/conveyor/actions/actions/checkout/v4",
    );
    // The path inside the repository does not change what is cloned.
    expect(cloneCommand(remote("owner/repo/sub/dir@main"), "/c")).toBe(
      "git clone --depth 1 --branch main https://github.com/owner/repo /c/owner/repo/main",
    );
  });

  it("fetches a commit SHA, which `--branch` cannot take", () => {
    expect(cloneCommand(remote(`owner/repo@${SHA}`), "/c")).toBe(
      `git init -q /c/owner/repo/${SHA} && git -C /c/owner/repo/${SHA} fetch -q --depth 1 https://github.com/owner/repo ${SHA} && git -C /c/owner/repo/${SHA} checkout -q FETCH_HEAD`,
    );
  });

  it("quotes a cache path with spaces", () => {
    expect(cloneCommand(remote("actions/checkout@v4"), "/my cache")).toBe(
      "git clone --depth 1 --branch v4 https://github.com/actions/checkout '/my cache/actions/checkout/v4'",
    );
  });
});

describe("missingActionMessage", () => {
  it("says how to put a remote action into the cache and that it is not built in", () => {
    expect(
      missingActionMessage(remote("actions/setup-go@v5"), ROOTS, {
        builtInActions: ["actions/checkout", "actions/cache"],
      }),
    ).toBe(
      "actions/setup-go@v5 is not in the action cache, and Conveyor does not download actions. " +
        "Put a copy of actions/setup-go at v5 into the cache with:\n" +
        "    git clone --depth 1 --branch v5 https://github.com/actions/setup-go /home/u/.cache/conveyor/actions/actions/setup-go/v5\n" +
        "The action cache is /home/u/.cache/conveyor/actions (set CONVEYOR_ACTION_CACHE to use another folder). " +
        "Conveyor has built-in versions of actions/checkout, actions/cache; actions/setup-go is not one of them.",
    );
    expect(missingActionMessage(remote("o/r@v1"), ROOTS)).toMatch(
      / Actions Conveyor has built in need no copy; o\/r is not one of them\.$/,
    );
  });

  it("points at the path when the repository is there but the action is not", () => {
    expect(
      missingActionMessage(remote("o/r/nope@v1"), { ...ROOTS, actionCache: "/c" }, { checkoutExists: true }),
    ).toBe(
      "o/r/nope@v1: the action cache has o/r at v1 (/c/o/r/v1), but there is no 'action.yml', 'action.yaml' or 'Dockerfile' in /c/o/r/v1/nope. " +
        "Check the path after o/r in `uses:`; if the copy is incomplete, remove /c/o/r/v1 and run:\n" +
        "    git clone --depth 1 --branch v1 https://github.com/o/r /c/o/r/v1",
    );
  });

  it("uses GitHub's message for a local action", () => {
    expect(missingActionMessage(local("./.github/actions/x"), ROOTS)).toBe(
      "Can't find 'action.yml', 'action.yaml' or 'Dockerfile' under '/work/repo/.github/actions/x'. Did you forget to run actions/checkout before running your local action?",
    );
  });
});

describe("containerSupportProblem", () => {
  it("explains that docker:// needs container support", () => {
    expect(containerSupportProblem(reference("docker://alpine:3"))).toBe(
      "`uses: docker://alpine:3` runs the container image alpine:3: that needs container support, which this runner does not have (Conveyor runs steps directly on this host, without Docker). Use a `run:` step with the tool installed on this host instead.",
    );
  });

  it("explains that a Docker container action needs container support", () => {
    expect(containerSupportProblem(reference("o/lint@v2"), "Dockerfile")).toBe(
      "o/lint@v2 is a Docker container action (image: Dockerfile): it needs container support, which this runner does not have (Conveyor runs steps directly on this host, without Docker). Use a JavaScript or composite action that does the same, or a `run:` step.",
    );
  });
});

describe("locateAction and loadAction (on disk)", () => {
  let root: string;
  let roots: ActionRoots;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), "conveyor-locate-"));
    roots = { workspace: join(root, "ws"), actionCache: join(root, "cache") };
    await mkdir(roots.workspace, { recursive: true });
  });

  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  async function put(path: string, text: string): Promise<void> {
    await mkdir(join(path, ".."), { recursive: true });
    await writeFile(path, text);
  }

  async function located(uses: string): Promise<LocatedAction> {
    const r = reference(uses);
    if (r.kind === "docker") throw new Error("docker");
    const result = await locateAction(r, roots);
    if (!result.ok) throw new Error(result.errors.map(formatDiagnostic).join("\n"));
    return result.value;
  }

  const NODE = "name: N\nruns:\n  using: node20\n  main: index.js\n";

  it("finds a local action's action.yml and names it relative to the workspace", async () => {
    await put(join(roots.workspace, ".github/actions/x/action.yml"), NODE);
    const found = await located("./.github/actions/x");
    expect(found).toMatchObject({
      directory: join(roots.workspace, ".github/actions/x"),
      kind: "metadata",
      file: join(roots.workspace, ".github/actions/x/action.yml"),
      displayPath: ".github/actions/x/action.yml",
    });
    const loaded = await loadAction(found);
    expect(loaded.ok && loaded.value.runs).toMatchObject({ using: "node20", main: "index.js" });
  });

  it("prefers action.yml over action.yaml, as GitHub's runner does", async () => {
    await put(join(roots.workspace, "a/action.yml"), NODE);
    await put(join(roots.workspace, "a/action.yaml"), "runs:\n  using: composite\n  steps: []\n");
    expect((await located("./a")).file).toBe(join(roots.workspace, "a/action.yml"));
  });

  it("finds action.yaml when there is no action.yml, and skips a folder named action.yml", async () => {
    await mkdir(join(roots.workspace, "a/action.yml"), { recursive: true });
    await put(join(roots.workspace, "a/action.yaml"), NODE);
    expect((await located("./a")).displayPath).toBe("a/action.yaml");
  });

  it("takes a folder with only a Dockerfile as a container action", async () => {
    await put(join(roots.workspace, "d/Dockerfile"), "FROM alpine\n");
    const found = await located("./d");
    expect(found.kind).toBe("dockerfile");
    const loaded = await loadAction(found);
    expect(loaded.ok && loaded.value.runs).toEqual({
      using: "docker",
      image: "Dockerfile",
      preIf: "always()",
      postIf: "always()",
    });
  });

  it("says what is missing for a local action", async () => {
    const result = await locateAction(local("./nope"), roots);
    expect(result.ok ? [] : result.errors.map(formatDiagnostic)).toEqual([
      `Can't find 'action.yml', 'action.yaml' or 'Dockerfile' under '${join(roots.workspace, "nope")}'. Did you forget to run actions/checkout before running your local action?`,
    ]);
  });

  it("finds a remote action in the cache, at its path, named by its absolute file", async () => {
    const file = join(roots.actionCache, "owner/repo/v1/sub/dir/action.yml");
    await put(file, NODE);
    const found = await located("owner/repo/sub/dir@v1");
    expect(found).toMatchObject({ kind: "metadata", file, displayPath: file });
  });

  it("tells a missing repository from a missing path inside it", async () => {
    const notCloned = await locateAction(remote("owner/repo@v1"), roots, {
      builtInActions: ["actions/checkout"],
    });
    expect(notCloned.ok ? "" : notCloned.errors[0]?.message).toBe(
      missingActionMessage(remote("owner/repo@v1"), roots, { builtInActions: ["actions/checkout"] }),
    );
    expect(notCloned.ok ? "" : notCloned.errors[0]?.message).toMatch(
      /^owner\/repo@v1 is not in the action cache/,
    );

    await put(join(roots.actionCache, "owner/repo/v1/action.yml"), NODE);
    const wrongPath = await locateAction(remote("owner/repo/missing@v1"), roots);
    expect(wrongPath.ok ? "" : wrongPath.errors[0]?.message).toMatch(
      /^owner\/repo\/missing@v1: the action cache has owner\/repo at v1 /,
    );
  });

  it("reports a malformed action.yml with the file's name, not a crash", async () => {
    await put(join(roots.workspace, "bad/action.yml"), "name: x\nruns:\n  using: node20\n");
    const loaded = await loadAction(await located("./bad"));
    expect(loaded.ok ? [] : loaded.errors.map(formatDiagnostic)).toEqual([
      "bad/action.yml:2:1: You are using a JavaScript Action but there is not an entry JavaScript file provided: add `main:`, the file `using: node20` runs (e.g. `main: dist/index.js`).",
    ]);
  });

  it("reports a file that disappeared between locating and loading", async () => {
    await put(join(roots.workspace, "gone/action.yml"), NODE);
    const found = await located("./gone");
    await rm(found.file);
    const loaded = await loadAction(found);
    expect(loaded.ok ? [] : loaded.errors.map(formatDiagnostic)).toEqual([
      expect.stringMatching(/^gone\/action\.yml: cannot read the action's metadata: ENOENT/),
    ]);
  });
});
