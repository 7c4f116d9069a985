import { describe, expect, it } from "vitest";
import { formatDiagnostic } from "../diagnostic.js";
import { addToPrependPath, composePath, failureSummary, parseEnvFile, parsePathFile } from "./env-files.js";

describe("parseEnvFile: name=value", () => {
  it("reads the documented examples", () => {
    expect(parseEnvFile("action_state=yellow\n", "GITHUB_ENV")).toEqual({
      entries: [{ name: "action_state", value: "yellow", line: 1 }],
      refused: [],
    });
    expect(parseEnvFile("SELECTED_COLOR=green\n", "GITHUB_OUTPUT").entries).toEqual([
      { name: "SELECTED_COLOR", value: "green", line: 1 },
    ]);
  });

  it("takes everything after the first = as the value, and keeps names as written", () => {
    expect(parseEnvFile("a==b=c\nb=\n c = d \n", "GITHUB_OUTPUT").entries).toEqual([
      { name: "a", value: "=b=c", line: 1 },
      { name: "b", value: "", line: 2 },
      { name: " c ", value: " d ", line: 3 },
    ]);
  });

  it("skips empty lines, counting them", () => {
    expect(parseEnvFile("\n\na=1\n\nb=2", "GITHUB_STATE").entries).toEqual([
      { name: "a", value: "1", line: 3 },
      { name: "b", value: "2", line: 5 },
    ]);
    expect(parseEnvFile("", "GITHUB_ENV")).toEqual({ entries: [], refused: [] });
  });

  it("keeps every entry in order, repeated names too", () => {
    expect(parseEnvFile("Result=first\nresult=second\n", "GITHUB_STATE").entries.map((e) => e.value)).toEqual(
      ["first", "second"],
    );
  });

  it("drops a byte order mark", () => {
    expect(parseEnvFile("\ufeffa=1\n", "GITHUB_ENV").entries).toEqual([{ name: "a", value: "1", line: 1 }]);
  });

  it("lets the earlier of = and << decide the form", () => {
    expect(parseEnvFile("a=b<<c\n", "GITHUB_OUTPUT").entries).toEqual([
      { name: "a", value: "b<<c", line: 1 },
    ]);
    expect(parseEnvFile("a<<=\nx\n=\n", "GITHUB_OUTPUT").entries).toEqual([
      { name: "a", value: "x", line: 1 },
    ]);
  });
});

describe("parseEnvFile: name<<DELIMITER", () => {
  it("reads the documented multi-line example", () => {
    const text = ["JSON_RESPONSE<<EOF", "{", '  "id": 1', "}", "EOF", "AFTER=yes", ""].join("\n");
    expect(parseEnvFile(text, "GITHUB_ENV").entries).toEqual([
      { name: "JSON_RESPONSE", value: '{\n  "id": 1\n}', line: 1 },
      { name: "AFTER", value: "yes", line: 6 },
    ]);
  });

  it("reads the random delimiter @actions/core writes", () => {
    const delimiter = "ghadelimiter_1b0e7f3a-2c44-4d0c-9d0b-6f2c8e0d9a11";
    const text = `result<<${delimiter}\nline 1\n\nline 3\n${delimiter}\n`;
    expect(parseEnvFile(text, "GITHUB_OUTPUT").entries).toEqual([
      { name: "result", value: "line 1\n\nline 3", line: 1 },
    ]);
  });

  it("gives an empty value for an empty heredoc, and accepts a final delimiter without line break", () => {
    expect(parseEnvFile("a<<EOF\nEOF", "GITHUB_OUTPUT").entries).toEqual([{ name: "a", value: "", line: 1 }]);
  });

  it("ends the value only at a line that is exactly the delimiter", () => {
    expect(parseEnvFile("a<<EOF\nxEOFy\n EOF\nEOF \nEOF\n", "GITHUB_OUTPUT").entries).toEqual([
      { name: "a", value: "xEOFy\n EOF\nEOF ", line: 1 },
    ]);
  });

  it("reads CRLF files as the Windows runner does, keeping CRLF inside values", () => {
    const text = "a=1\r\nb<<EOF\r\nx\r\ny\r\nEOF\r\n";
    expect(parseEnvFile(text, "GITHUB_OUTPUT").entries).toEqual([
      { name: "a", value: "1", line: 1 },
      { name: "b", value: "x\r\ny", line: 2 },
    ]);
  });

  it("keeps CRs as the Linux runner does when asked", () => {
    const text = "a=1\r\nb<<EOF\r\nx\r\nEOF\r\n";
    expect(parseEnvFile(text, "GITHUB_OUTPUT", { crlf: false }).entries).toEqual([
      { name: "a", value: "1\r", line: 1 },
      { name: "b", value: "x\r", line: 2 },
    ]);
  });
});

describe("parseEnvFile: errors, as values", () => {
  it("refuses a line that is neither form, keeping the entries before it", () => {
    const result = parseEnvFile("a=1\nnot an entry\nb=2\n", "GITHUB_OUTPUT");
    expect(result.entries).toEqual([{ name: "a", value: "1", line: 1 }]);
    expect(result.error).toEqual({
      severity: "error",
      message:
        "Invalid format 'not an entry': expected 'name=value' or 'name<<DELIMITER' (empty lines are skipped)",
      location: { file: "GITHUB_OUTPUT", line: 2, column: 1 },
    });
    expect(formatDiagnostic(result.error ?? { severity: "error", message: "" })).toMatch(
      /^GITHUB_OUTPUT:2:1: Invalid format 'not an entry'/,
    );
  });

  it("refuses a blank line that is not empty", () => {
    expect(parseEnvFile("a=1\n  \n", "GITHUB_ENV").error?.location?.line).toBe(2);
  });

  it("refuses an empty name", () => {
    expect(parseEnvFile("=value\n", "GITHUB_ENV").error).toMatchObject({
      message: "Invalid format '=value'. Name must not be empty",
      location: { line: 1 },
    });
  });

  it.each(["<<EOF", "name<<"])("refuses the heredoc %j without name or delimiter", (line) => {
    expect(parseEnvFile(`${line}\nx\nEOF\n`, "GITHUB_STATE").error).toMatchObject({
      message: `Invalid format '${line}'. Name must not be empty and delimiter must not be empty`,
      location: { file: "GITHUB_STATE", line: 1 },
    });
  });

  it.each([
    ["with a final line break", "a=1\nbody<<EOF\nline\n"],
    ["without a final line break", "a=1\nbody<<EOF\nline"],
    ["with no lines after it", "a=1\nbody<<EOF"],
  ])("reports an unterminated heredoc %s at its first line", (_, text) => {
    const result = parseEnvFile(text, "GITHUB_OUTPUT");
    expect(result.entries).toEqual([{ name: "a", value: "1", line: 1 }]);
    expect(result.error).toEqual({
      severity: "error",
      message:
        "Invalid value. Matching delimiter not found 'EOF': the value of 'body' starts on line 2 and no line " +
        "after it is exactly 'EOF'",
      location: { file: "GITHUB_OUTPUT", line: 2, column: 1 },
    });
  });

  it("ends a value at the delimiter even when the writer meant it as content", () => {
    const result = parseEnvFile("a<<EOF\nbefore\nEOF\nafter\nEOF\n", "GITHUB_OUTPUT");
    expect(result.entries).toEqual([{ name: "a", value: "before", line: 1 }]);
    expect(result.error).toMatchObject({ location: { line: 4 } });
    expect(result.error?.message).toMatch(/^Invalid format 'after'/);
  });

  it("names the file command as the runner does", () => {
    expect(failureSummary("GITHUB_ENV")).toBe("Unable to process file command 'env' successfully.");
    expect(failureSummary("GITHUB_OUTPUT")).toBe("Unable to process file command 'output' successfully.");
    expect(failureSummary("GITHUB_STATE")).toBe("Unable to process file command 'state' successfully.");
  });
});

describe("GITHUB_ENV block list", () => {
  it("refuses NODE_OPTIONS whatever its case and goes on", () => {
    expect(parseEnvFile("node_options=--inspect\nOK=1\n", "GITHUB_ENV")).toEqual({
      entries: [{ name: "OK", value: "1", line: 2 }],
      refused: [
        {
          severity: "error",
          message: "Can't store NODE_OPTIONS output parameter using '$GITHUB_ENV' command.",
          location: { file: "GITHUB_ENV", line: 1, column: 1 },
        },
      ],
    });
  });

  it("lets other files use the name", () => {
    expect(parseEnvFile("NODE_OPTIONS=x\n", "GITHUB_OUTPUT").entries).toEqual([
      { name: "NODE_OPTIONS", value: "x", line: 1 },
    ]);
  });
});

describe("GITHUB_PATH", () => {
  it("reads one directory per line, at any line break, skipping empty lines", () => {
    expect(parsePathFile("\ufeff/opt/a\n\n/opt/b\r\n/opt/c\r/opt/d\n \n")).toEqual([
      "/opt/a",
      "/opt/b",
      "/opt/c",
      "/opt/d",
      " ",
    ]);
  });

  it("moves re-added directories to the front of PATH", () => {
    const prepend = addToPrependPath(addToPrependPath([], ["/a", "/b"]), ["/c", "/a"]);
    expect(prepend).toEqual(["/b", "/c", "/a"]);
    expect(composePath(prepend, "/usr/bin:/bin")).toBe("/a:/c:/b:/usr/bin:/bin");
    expect(composePath(prepend, "", ";")).toBe("/a;/c;/b");
    expect(composePath([], "/usr/bin")).toBe("/usr/bin");
  });
});
