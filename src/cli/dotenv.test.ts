import { describe, expect, it } from "vitest";
import { formatDiagnostic } from "../diagnostic.js";
import { parseAssignment, parseDotenv } from "./dotenv.js";

describe("dotenv files", () => {
  it("reads names, quotes, comments and export", () => {
    const result = parseDotenv(
      [
        "# secrets for local runs",
        "TOKEN=abc123",
        "export REGION = eu-west-1",
        "PLAIN=value # trailing comment",
        "SINGLE='keep $this \\n as is'",
        'DOUBLE="line one\\nline two"',
        'MULTI="first',
        'second"',
        "EMPTY=",
      ].join("\n"),
      ".secrets",
    );
    expect(result).toEqual({
      ok: true,
      value: {
        TOKEN: "abc123",
        REGION: "eu-west-1",
        PLAIN: "value",
        SINGLE: "keep $this \\n as is",
        DOUBLE: "line one\nline two",
        MULTI: "first\nsecond",
        EMPTY: "",
      },
    });
  });

  it("names the line of a malformed entry", () => {
    const result = parseDotenv('A=1\nnot an assignment\nB="open\n', ".secrets");
    expect(!result.ok && result.errors.map(formatDiagnostic)).toEqual([
      ".secrets:2:1: expected KEY=value (a name, '=', then the value).",
      ".secrets:3:1: the value of B has no closing double quote.",
    ]);
  });
});

describe("KEY=value options", () => {
  it("splits at the first =", () => {
    expect(parseAssignment("A=b=c", "--var")).toEqual({ ok: true, value: ["A", "b=c"] });
  });

  it("takes a bare name from the environment, as act's -s does", () => {
    expect(parseAssignment("TOKEN", "-s", (k) => (k === "TOKEN" ? "from-env" : undefined))).toEqual({
      ok: true,
      value: ["TOKEN", "from-env"],
    });
    const missing = parseAssignment("NOPE", "-s", () => undefined);
    expect(!missing.ok && missing.errors[0]?.message).toBe(
      "-s NOPE: give a value (-s NOPE=value) or set it in the environment.",
    );
  });
});
