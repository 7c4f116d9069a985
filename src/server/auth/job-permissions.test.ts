import { describe, expect, it } from "vitest";
import {
  DEFAULT_PERMISSIONS,
  allows,
  decodePermissions,
  effectivePermissions,
  encodePermissions,
} from "./job-permissions.js";
import { JobTokens } from "./job-tokens.js";

describe("job token permissions", () => {
  it("uses the job's permissions over the workflow's, and the restricted default without either", () => {
    const none = { forkPullRequest: false };
    expect(effectivePermissions(undefined, undefined, none)).toEqual(DEFAULT_PERMISSIONS);
    expect(DEFAULT_PERMISSIONS.contents).toBe("read");
    expect(DEFAULT_PERMISSIONS.statuses).toBe("none");
    const job = effectivePermissions({ statuses: "write" }, "write-all", none);
    expect(job.statuses).toBe("write");
    // A map grants what it names; the rest is none, contents included.
    expect(job.contents).toBe("none");
    expect(effectivePermissions(undefined, "read-all", none).actions).toBe("read");
    expect(effectivePermissions(undefined, {}, none).contents).toBe("none");
  });

  it("caps a fork's pull request at read", () => {
    const capped = effectivePermissions("write-all", undefined, { forkPullRequest: true });
    expect(capped.contents).toBe("read");
    expect(capped.statuses).toBe("read");
  });

  it("round-trips through the token, which refuses a changed signature", () => {
    const permissions = effectivePermissions({ contents: "read", actions: "write" }, undefined, {
      forkPullRequest: false,
    });
    expect(encodePermissions(permissions)).toBe("actions=write,contents=read");
    expect(decodePermissions(encodePermissions(permissions))).toEqual(permissions);
    expect(decodePermissions("contents=admin")).toBeUndefined();
    const tokens = new JobTokens(Buffer.alloc(32, 1));
    const token = tokens.issue({ jobId: 1, runId: 2, repositoryId: 3, permissions });
    expect(tokens.verify(token)).toEqual({ jobId: 1, runId: 2, repositoryId: 3, permissions });
    expect(tokens.verify(token.slice(0, -2) + (token.endsWith("AA") ? "BB" : "AA"))).toBeUndefined();
    expect(allows(permissions.contents, "read")).toBe(true);
    expect(allows(permissions.contents, "write")).toBe(false);
  });
});
