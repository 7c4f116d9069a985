import { describe, expect, it } from "vitest";
import { BASIC_CHALLENGE, parseBasicAuthorization } from "./basic-auth.js";
import { MAX_NAME_LENGTH, checkRepositoryName, parseGitPath } from "./repository-names.js";

function messages(owner: string, name: string): string[] {
  const result = checkRepositoryName(owner, name);
  return result.ok ? [] : result.errors.map((e) => e.message);
}

describe("checkRepositoryName", () => {
  it("accepts GitHub's alphabet", () => {
    expect(checkRepositoryName("octo-org", "Hello_World.js")).toEqual({
      ok: true,
      value: { owner: "octo-org", name: "Hello_World.js" },
    });
    expect(checkRepositoryName("a", "b".repeat(MAX_NAME_LENGTH)).ok).toBe(true);
  });

  it.each([
    ["..", "repository name '..' starts with '.'"],
    ["a..b", "repository name 'a..b' holds '..'"],
    ["a/b", "repository name 'a/b' holds a '/' (a name is one path segment)"],
    ["a\\b", "repository name 'a\\\\b' holds a '\\' (a name is one path segment)"],
    ["a\0b", "repository name 'a\\u0000b' holds the control character \"\\u0000\""],
    ["a\nb", "repository name 'a\\nb' holds the control character \"\\n\""],
    [".hidden", "repository name '.hidden' starts with '.'"],
    ["-option", "repository name '-option' starts with '-'"],
    ["with space", "repository name 'with space' holds a space"],
    ["é", "repository name 'é' holds 'é'"],
    ["", "repository name is empty"],
    ["x".repeat(101), "repository name is 101 characters long; at most 100 are allowed."],
    ["repo.git", "repository name 'repo.git' ends in '.git', which clone URLs add: name it 'repo'."],
  ])("refuses the name %j, saying what is allowed", (name, expected) => {
    const found = messages("octo", name);
    expect(found).toHaveLength(1);
    expect(found[0]).toContain(expected);
  });

  it("names the field and refuses reserved owners without regard to case", () => {
    expect(messages("API", "x")).toEqual([
      "owner 'API' is reserved for the server's own pages: choose another owner.",
    ]);
    expect(messages("../etc", "passwd")[0]).toMatch(/^owner '..\/etc' holds a '\/'/);
    expect(messages("a b", "c d")).toHaveLength(2);
  });

  it("shortens a very long name in the message", () => {
    const [message] = messages("o", `${"a".repeat(90)} b`);
    expect(message).toContain("...' holds a space");
    expect(message?.length).toBeLessThan(140);
  });
});

describe("parseGitPath", () => {
  it("splits the three smart HTTP endpoints, with and without .git", () => {
    expect(parseGitPath("/octo/hello.git/info/refs?service=git-upload-pack")).toEqual({
      owner: "octo",
      name: "hello",
      gitPath: "info/refs",
      service: "git-upload-pack",
      query: "service=git-upload-pack",
    });
    expect(parseGitPath("/octo/hello/git-receive-pack")).toEqual({
      owner: "octo",
      name: "hello",
      gitPath: "git-receive-pack",
      service: "git-receive-pack",
      query: "",
    });
    expect(parseGitPath("/octo/hello.git/git-upload-pack")?.service).toBe("git-upload-pack");
    expect(parseGitPath("/octo/a.b.git/info/refs?service=git-receive-pack")?.name).toBe("a.b");
    // Only one .git is the URL's: the rest is the name, which checkRepositoryName then refuses.
    expect(parseGitPath("/octo/x.git.git/git-upload-pack")?.name).toBe("x.git");
  });

  it("gives undefined for anything else", () => {
    expect(parseGitPath("/octo/hello.git/info/refs")).toBeUndefined(); // the dumb protocol
    expect(parseGitPath("/octo/hello.git/info/refs?service=git-archive")).toBeUndefined();
    expect(parseGitPath("/octo/hello.git/objects/info/packs")).toBeUndefined();
    expect(parseGitPath("/octo/hello.git/HEAD")).toBeUndefined();
    expect(parseGitPath("/api/v1/repos")).toBeUndefined();
    expect(parseGitPath("/a/b/c/info/refs?service=git-upload-pack")).toBeUndefined();
    expect(parseGitPath("//hello/git-upload-pack")).toBeUndefined();
  });

  it("leaves odd names for checkRepositoryName to refuse", () => {
    const path = parseGitPath("/../hello/git-upload-pack");
    expect(path?.owner).toBe("..");
    expect(checkRepositoryName(path?.owner ?? "", path?.name ?? "").ok).toBe(false);
    expect(parseGitPath("/%2e%2e/hello/git-upload-pack")?.owner).toBe("%2e%2e");
    expect(checkRepositoryName("%2e%2e", "hello").ok).toBe(false);
  });
});

describe("basic auth", () => {
  const header = (text: string): string => `Basic ${Buffer.from(text).toString("base64")}`;

  it("reads the user and a password that may hold colons", () => {
    expect(parseBasicAuthorization(header("alice:cvt_abc:def"))).toEqual({
      user: "alice",
      password: "cvt_abc:def",
    });
    expect(parseBasicAuthorization(`basic ${Buffer.from("a:b").toString("base64")}`)).toEqual({
      user: "a",
      password: "b",
    });
  });

  it("gives undefined without credentials, for another scheme or without a colon", () => {
    expect(parseBasicAuthorization(undefined)).toBeUndefined();
    expect(parseBasicAuthorization("Bearer cvt_abc")).toBeUndefined();
    expect(parseBasicAuthorization(header("no-colon"))).toBeUndefined();
  });

  it("challenges with Conveyor's realm", () => {
    expect(BASIC_CHALLENGE).toBe('Basic realm="Conveyor"');
  });
});
