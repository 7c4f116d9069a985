import { describe, expect, it } from "vitest";
import { fileId } from "./file-id.js";

describe("fileId", () => {
  it("gives UUID-shaped names (version 4), each different", () => {
    const ids = Array.from({ length: 10_000 }, fileId);
    for (const id of ids.slice(0, 100)) {
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    }
    expect(new Set(ids).size).toBe(ids.length);
  });
});
