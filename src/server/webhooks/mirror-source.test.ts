import { describe, expect, it } from "vitest";
import { type MirrorSource, mirrorSource, redactUserInfo } from "./mirror-source.js";

function source(url: string, allowLocal = false): MirrorSource {
  const result = mirrorSource(url, { allowLocal });
  if (!result.ok) throw new Error(result.errors.map((e) => e.message).join("\n"));
  return result.value;
}

function refusal(url: string): string {
  const result = mirrorSource(url);
  if (result.ok) throw new Error(`expected a refusal, got ${JSON.stringify(result.value)}`);
  return result.errors.map((e) => e.message).join("\n");
}

describe("mirrorSource", () => {
  it("names the folder after host and path, safely, with a digest that keeps it unique", () => {
    const github = source("https://github.com/Codertocat/Hello-World.git");
    expect(github).toMatchObject({ kind: "http", url: "https://github.com/Codertocat/Hello-World.git" });
    expect(github.origin).toBe("https://github.com/");
    expect(github.folder).toMatch(/^github\.com_Codertocat_Hello-World-[0-9a-f]{16}\.git$/u);
    const nested = source("https://gitlab.example.com:8443/group/sub group/../name");
    expect(nested.folder).toMatch(/^[A-Za-z0-9._-]+$/u);
    expect(nested.folder).not.toContain("..");
    expect(source("https://example.com/a/b").folder).not.toBe(source("https://example.com/a_b").folder);
  });

  it("gives one folder to one repository however its URL is written", () => {
    const folders = new Set(
      [
        "https://github.com/o/r.git",
        "https://github.com/o/r",
        "https://github.com/o/r/",
        "https://x-access-token:ghs_abc@github.com/o/r.git",
        "https://GitHub.com/o/r.git",
      ].map((url) => source(url).folder),
    );
    expect(folders.size).toBe(1);
  });

  it("takes credentials out of the URL", () => {
    const withToken = source("https://oauth2:glpat%2Dsecret@gitlab.com/g/p.git");
    expect(withToken.url).toBe("https://gitlab.com/g/p.git");
    expect(withToken.credentials).toEqual({ username: "oauth2", password: "glpat-secret" });
    expect(JSON.stringify({ ...withToken, credentials: undefined })).not.toContain("glpat");
  });

  it("refuses SSH, scp-like and git:// URLs, and says to use HTTPS", () => {
    expect(refusal("ssh://git@github.com/o/r.git")).toMatch(/uses ssh; Conveyor mirrors over HTTP\(S\)/u);
    expect(refusal("git://github.com/o/r.git")).toMatch(/uses git;/u);
    expect(refusal("git@github.com:o/r.git")).toMatch(/give the repository's HTTPS clone URL/u);
    expect(refusal("")).toMatch(/empty/u);
  });

  it("refuses local paths unless the server allows them", () => {
    expect(refusal("/srv/repos/secret.git")).toMatch(
      /is a local path, and this server mirrors only HTTP\(S\)/u,
    );
    expect(refusal("file:///srv/repos/secret.git")).toMatch(/local path/u);
    expect(source("/srv/repos/x.git", true)).toMatchObject({ kind: "local", url: "/srv/repos/x.git" });
    expect(source("file:///srv/repos/x.git", true).folder).toBe(source("/srv/repos/x.git", true).folder);
  });

  it("never shows credentials in a refusal", () => {
    expect(refusal("ftp://user:hunter2@example.com/r.git")).not.toContain("hunter2");
    expect(redactUserInfo("fatal: unable to access 'https://u:tok@h/r.git/'")).toBe(
      "fatal: unable to access 'https://***@h/r.git/'",
    );
  });
});
