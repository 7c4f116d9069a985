import { describe, expect, it } from "vitest";
import { parseSize } from "../settings.js";
import { blockIdsOf, parseRange } from "../http/blob-routes.js";
import { contentRangeOf } from "../http/cache-routes.js";
import { wholeProblem } from "./cache-service.js";
import { cacheScopes, matchEntry } from "./cache-scopes.js";

const entry = (id: number, scope: string, key: string, createdAt: string) => ({ id, scope, key, createdAt });

describe("cache scopes", () => {
  it("reads the run's ref, a pull request's base, then the default branch; writes only its ref", () => {
    expect(cacheScopes({ ref: "refs/heads/feature", defaultBranch: "main", payload: {} })).toEqual({
      write: "refs/heads/feature",
      read: ["refs/heads/feature", "refs/heads/main"],
    });
    expect(
      cacheScopes({
        ref: "refs/pull/3/merge",
        defaultBranch: "main",
        payload: { pull_request: { base: { ref: "develop" } } },
      }),
    ).toEqual({
      write: "refs/pull/3/merge",
      read: ["refs/pull/3/merge", "refs/heads/develop", "refs/heads/main"],
    });
    expect(cacheScopes({ ref: "refs/heads/main", defaultBranch: "main", payload: {} }).read).toEqual([
      "refs/heads/main",
    ]);
  });

  it("matches the primary key exactly, then each key as a prefix (newest first), scope by scope", () => {
    const entries = [
      entry(1, "refs/heads/main", "npm-linux-aaa", "2025-01-01T00:00:00.000Z"),
      entry(2, "refs/heads/main", "npm-linux-bbb", "2025-01-02T00:00:00.000Z"),
      entry(3, "refs/heads/feature", "npm-linux-old", "2024-01-01T00:00:00.000Z"),
      entry(4, "refs/heads/other", "npm-linux-ccc", "2026-01-01T00:00:00.000Z"),
      entry(5, "refs/heads/main", "npm-linux-aaa-2", "2025-06-01T00:00:00.000Z"),
    ];
    const feature = ["refs/heads/feature", "refs/heads/main"];
    // Exact wins over a newer prefix match.
    expect(matchEntry(entries, ["npm-linux-aaa"], ["refs/heads/main"])?.id).toBe(1);
    expect(matchEntry(entries, ["npm-linux-zzz", "npm-linux-"], ["refs/heads/main"])?.id).toBe(5);
    // The run's own scope comes first, even with an older entry.
    expect(matchEntry(entries, ["npm-linux-zzz", "npm-linux-"], feature)?.id).toBe(3);
    expect(matchEntry(entries, ["npm-linux-bbb"], feature)?.id).toBe(2);
    // Another branch is never seen.
    expect(matchEntry(entries, ["npm-linux-ccc"], feature)).toBeUndefined();
    expect(matchEntry(entries, [], feature)).toBeUndefined();
  });

  it("says what keeps uploaded parts from making the whole", () => {
    expect(
      wholeProblem(
        [
          { start: 0, size: 10 },
          { start: 10, size: 5 },
        ],
        15,
      ),
    ).toBeUndefined();
    expect(
      wholeProblem(
        [
          { start: 10, size: 5 },
          { start: 0, size: 10 },
        ],
        15,
      ),
    ).toBeUndefined();
    expect(
      wholeProblem(
        [
          { start: 0, size: 10 },
          { start: 12, size: 3 },
        ],
        15,
      ),
    ).toMatch(/bytes 10-11 were never uploaded/);
    expect(
      wholeProblem(
        [
          { start: 0, size: 10 },
          { start: 5, size: 10 },
        ],
        15,
      ),
    ).toMatch(/overlap at byte 5/);
    expect(wholeProblem([{ start: 0, size: 10 }], 15)).toMatch(/bytes 10-14/);
    expect(wholeProblem([{ start: 0, size: 10 }], 8)).toMatch(/hold 10 bytes but the commit says 8/);
    expect(wholeProblem([], 0)).toBeUndefined();
  });
});

describe("protocol details", () => {
  it("reads Content-Range, Range and block lists as the clients send them", () => {
    expect(contentRangeOf("bytes 0-99/*")).toEqual({ start: 0, end: 99 });
    expect(contentRangeOf("bytes 100-199/200")).toEqual({ start: 100, end: 199 });
    expect(contentRangeOf("bytes=0-99")).toBeUndefined();
    expect(contentRangeOf("bytes 9-3/*")).toBeUndefined();
    expect(parseRange("bytes=10-19", 100)).toEqual({ start: 10, end: 19 });
    expect(parseRange("bytes=90-", 100)).toEqual({ start: 90, end: 99 });
    expect(parseRange("bytes=-5", 100)).toEqual({ start: 95, end: 99 });
    expect(parseRange("bytes=50-500", 100)).toEqual({ start: 50, end: 99 });
    expect(parseRange("bytes=100-", 100)).toBe("unsatisfiable");
    expect(parseRange("items=1-2", 100)).toBeUndefined();
    expect(
      blockIdsOf(
        '<?xml version="1.0"?><BlockList><Latest>QQ==</Latest><Uncommitted>Qg==</Uncommitted></BlockList>',
      ),
    ).toEqual(["QQ==", "Qg=="]);
    expect(blockIdsOf("<Other/>")).toBeUndefined();
  });

  it("reads cache quotas in bytes and units", () => {
    expect(parseSize("10GiB")).toBe(10 * 1024 ** 3);
    expect(parseSize("500MB")).toBe(500_000_000);
    expect(parseSize("1.5 gb")).toBe(1_500_000_000);
    expect(parseSize(1048576)).toBe(1048576);
    expect(parseSize("ten")).toBeUndefined();
    expect(parseSize("5 parsecs")).toBeUndefined();
    expect(parseSize("0")).toBeUndefined();
  });
});
