import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { slugify, wordCount } from "../src/index.js";

describe("slugify", () => {
  it("lowercases and joins words with dashes", () => {
    assert.equal(slugify("Hello, World!"), "hello-world");
  });

  it("drops accents", () => {
    assert.equal(slugify("Crème brûlée"), "creme-brulee");
  });
});

describe("wordCount", () => {
  it("counts words separated by any whitespace", () => {
    assert.equal(wordCount("  one two\tthree\n"), 3);
  });

  it("is zero for blank text", () => {
    assert.equal(wordCount("   "), 0);
  });
});
