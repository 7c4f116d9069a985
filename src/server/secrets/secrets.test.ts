import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { decryptSecret, encryptSecret } from "./secret-cipher.js";
import { parseMasterKey } from "./master-key.js";
import { fillPlaceholders, jobSecretsContext, placeholderContext, secretsWithheld } from "./job-secrets.js";
import { mergeByPrecedence, normalizeName, valueProblem } from "./secret-scope.js";

describe("secret names", () => {
  it("accepts GitHub's names and stores them upper-case", () => {
    expect(normalizeName("api_key", "the secret name")).toEqual({ ok: true, value: "API_KEY" });
    expect(normalizeName("_x1", "the secret name")).toEqual({ ok: true, value: "_X1" });
  });

  it.each([
    ["", /is empty/u],
    ["1KEY", /starts with a digit/u],
    ["MY-KEY", /only letters, digits and underscores/u],
    ["MY KEY", /only letters, digits and underscores/u],
    ["github_token", /GITHUB_, which is reserved/u],
  ])("refuses %j naming the field", (name, message) => {
    const result = normalizeName(name, "the secret name");
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.errors[0]?.message).toMatch(message);
      expect(result.errors[0]?.message).toMatch(/^the secret name/u);
    }
  });

  it("refuses values over 48 KB without quoting them", () => {
    const big = "x".repeat(48 * 1024 + 1);
    const problem = valueProblem(big, "the secret's value");
    expect(problem).toMatch(/48 KB/u);
    expect(problem).not.toContain("xxxx");
    expect(valueProblem("small", "v")).toBeUndefined();
  });
});

describe("encryption bound to the scope", () => {
  const key = randomBytes(32);
  const repo = { repositoryId: 7, environment: "" };

  it("round-trips, with a fresh IV each time", () => {
    const a = encryptSecret(key, repo, "TOKEN", "hunter2\nline two");
    const b = encryptSecret(key, repo, "TOKEN", "hunter2\nline two");
    expect(a).not.toEqual(b);
    expect(a).not.toContain("hunter2");
    expect(decryptSecret(key, repo, "TOKEN", a)).toBe("hunter2\nline two");
  });

  it("fails when moved to another scope or name, changed, or read with another key", () => {
    const stored = encryptSecret(key, repo, "TOKEN", "hunter2");
    expect(decryptSecret(key, { repositoryId: 0, environment: "" }, "TOKEN", stored)).toBeUndefined();
    expect(
      decryptSecret(key, { repositoryId: 7, environment: "production" }, "TOKEN", stored),
    ).toBeUndefined();
    expect(decryptSecret(key, { repositoryId: 8, environment: "" }, "TOKEN", stored)).toBeUndefined();
    expect(decryptSecret(key, repo, "OTHER", stored)).toBeUndefined();
    expect(decryptSecret(randomBytes(32), repo, "TOKEN", stored)).toBeUndefined();
    const parts = stored.split(":");
    const body = Buffer.from(parts[3] as string, "base64");
    body[0] = (body[0] as number) ^ 1;
    const flipped = [parts[0], parts[1], parts[2], body.toString("base64")].join(":");
    expect(decryptSecret(key, repo, "TOKEN", flipped)).toBeUndefined();
    expect(decryptSecret(key, repo, "TOKEN", "not a ciphertext")).toBeUndefined();
  });
});

describe("master key", () => {
  it("takes base64 of 32 bytes and refuses anything else, naming the source", () => {
    const key = randomBytes(32);
    expect(parseMasterKey(key.toString("base64"), "X")).toEqual({ ok: true, value: key });
    const short = parseMasterKey(
      randomBytes(16).toString("base64"),
      "the environment variable CONVEYOR_MASTER_KEY",
    );
    expect(short.ok).toBe(false);
    if (!short.ok)
      expect(short.errors[0]?.message).toMatch(
        /CONVEYOR_MASTER_KEY must be base64 of 32 random bytes.*16 bytes/u,
      );
    expect(parseMasterKey("not base64!", "K").ok).toBe(false);
  });
});

describe("which runs get secrets", () => {
  const pr = (head: string | null, base: string) => ({
    pull_request: {
      head: { repo: head === null ? null : { full_name: head } },
      base: { repo: { full_name: base } },
    },
  });

  it("withholds them from a fork's pull request, a deleted fork's too", () => {
    expect(secretsWithheld("pull_request", pr("mallory/app", "alice/app"), undefined)).toBe(true);
    expect(secretsWithheld("pull_request", pr(null, "alice/app"), undefined)).toBe(true);
    expect(secretsWithheld("pull_request_review", pr("mallory/app", "alice/app"), undefined)).toBe(true);
    expect(secretsWithheld("pull_request", {}, true)).toBe(true);
  });

  it("gives them to a same-repository pull request, pull_request_target and pushes", () => {
    expect(secretsWithheld("pull_request", pr("alice/app", "Alice/App"), false)).toBe(false);
    expect(secretsWithheld("pull_request_target", pr("mallory/app", "alice/app"), true)).toBe(false);
    expect(secretsWithheld("push", {}, undefined)).toBe(false);
  });
});

describe("a job's secrets", () => {
  const refs = { nonce: "ab12", names: ["API", "SHARED"] };

  it("merges scopes with GitHub's precedence: environment over repository over organisation", () => {
    expect(mergeByPrecedence([{ A: "org", B: "org" }, { B: "repo", C: "repo" }, { C: "env" }])).toEqual({
      A: "org",
      B: "repo",
      C: "env",
    });
  });

  it("gives a top-level job every run secret, and its environment's over them", () => {
    const context = jobSecretsContext({
      jobKey: "deploy#0",
      assigned: placeholderContext(refs),
      refs,
      withheld: false,
      runSecrets: { API: "a", SHARED: "repo" },
      environmentSecrets: { SHARED: "env" },
    });
    expect(context).toEqual({ API: "a", SHARED: "env" });
  });

  it("gives a called workflow's job only what its caller passed, placeholders filled", () => {
    const assigned = { TOKEN: `x-${placeholderContext(refs).API as string}-y`, OTHER: "literal" };
    const context = jobSecretsContext({
      jobKey: "call#0/inner#0",
      assigned,
      refs,
      withheld: false,
      runSecrets: { API: "a", SHARED: "repo" },
      environmentSecrets: {},
    });
    expect(context).toEqual({ TOKEN: "x-a-y", OTHER: "literal" });
  });

  it("gives nothing when withheld, not even the environment's", () => {
    expect(
      jobSecretsContext({
        jobKey: "deploy#0",
        assigned: {},
        refs,
        withheld: true,
        runSecrets: { API: "a" },
        environmentSecrets: { SHARED: "env" },
      }),
    ).toEqual({});
  });

  it("fills only this run's placeholders; a missing secret becomes empty", () => {
    const mine = placeholderContext({ nonce: "ab12", names: ["GONE"] }).GONE as string;
    const theirs = placeholderContext({ nonce: "ffff", names: ["API"] }).API as string;
    expect(fillPlaceholders(`${mine}|${theirs}`, "ab12", { API: "a" })).toBe(`|${theirs}`);
  });
});
