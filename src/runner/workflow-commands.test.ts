import { describe, expect, it } from "vitest";
import {
  INVALID_STOP_TOKEN_MESSAGE,
  WorkflowCommandProcessor,
  deprecatedCommandMessage,
  disabledCommandMessage,
  parseWorkflowCommand,
  type CommandResult,
} from "./workflow-commands.js";

function processOne(line: string, processor = new WorkflowCommandProcessor()): CommandResult {
  return processor.processLine(line);
}

function processAll(lines: readonly string[], processor = new WorkflowCommandProcessor()): CommandResult[] {
  return lines.map((line) => processor.processLine(line));
}

const SET_OUTPUT_DEPRECATION =
  "The `set-output` command is deprecated and will be disabled soon. Please upgrade to using Environment " +
  "Files. For more information see: " +
  "https://github.blog/changelog/2022-10-11-github-actions-deprecating-save-state-and-set-output-commands/";

describe("plain text", () => {
  it.each([
    "hello world",
    "",
    "::foo::bar", // unknown commands are plain text on GitHub too
    "::set-outputs name=x::y",
    "::::",
    ":: error::leading space before the name",
    "echo ::error::not at the start of the line",
    "::error no closing separator",
    "##[section]Starting: build", // not a registered command
    "##[error no closing bracket",
  ])("%j is text", (line) => {
    expect(processOne(line)).toEqual({ kind: "text", text: line, issues: [] });
  });
});

describe("annotations", () => {
  it("parses the documented ::error example", () => {
    expect(processOne("::error file=app.js,line=1::Missing semicolon")).toEqual({
      kind: "annotation",
      annotation: { level: "error", message: "Missing semicolon", file: "app.js", line: 1 },
      issues: [],
    });
  });

  it("parses columns, titles and notices", () => {
    const result = processOne(
      "::notice file=app.js,line=1,col=5,endColumn=7,title=Lint says::Missing semicolon",
    );
    expect(result).toEqual({
      kind: "annotation",
      annotation: {
        level: "notice",
        message: "Missing semicolon",
        file: "app.js",
        title: "Lint says",
        line: 1,
        column: 5,
        endColumn: 7,
      },
      issues: [],
    });
  });

  it("reads ::warning with endLine", () => {
    expect(processOne("::warning file=a.ts,line=3,endLine=9::Too long")).toMatchObject({
      kind: "annotation",
      annotation: { level: "warning", message: "Too long", file: "a.ts", line: 3, endLine: 9 },
    });
  });

  it("unescapes %25 %0D %0A in the message and also %3A %2C in properties", () => {
    expect(processOne("::error title=a%3Ab%2Cc%25d::Line one%0ALine two%0D%0A100%25")).toMatchObject({
      annotation: { title: "a:b,c%d", message: "Line one\nLine two\r\n100%" },
    });
  });

  it("decodes each escape once and only in upper case", () => {
    expect(processOne("::error::%250A stays, %0a stays, %3A stays")).toMatchObject({
      annotation: { message: "%0A stays, %0a stays, %3A stays" },
    });
  });

  it("treats command names and property keys without regard to case", () => {
    expect(processOne("::ERROR FILE=a.js,LINE=2,EndLine=2,COL=1::x")).toMatchObject({
      annotation: { level: "error", file: "a.js", line: 2, endLine: 2, column: 1 },
    });
  });

  it("accepts leading white space and keeps the message's own", () => {
    expect(processOne("   ::warning::  indented message")).toMatchObject({
      annotation: { level: "warning", message: "  indented message" },
    });
  });

  it("keeps later :: in the message", () => {
    expect(processOne("::error::a::b")).toMatchObject({ annotation: { message: "a::b" } });
  });

  it("reads properties as the runner's .NET split does", () => {
    // An empty value drops the pair; `=` right after the key is skipped; later `=` belong to the value.
    expect(processOne("::error file=,line= 4 ,title=a=b,,col==2::m")).toEqual({
      kind: "annotation",
      annotation: { level: "error", message: "m", title: "a=b", line: 4, column: 2 },
      issues: [],
    });
  });

  it("drops numbers that are not 32-bit integers", () => {
    expect(processOne("::error line=abc,endLine=99999999999::m")).toEqual({
      kind: "annotation",
      annotation: { level: "error", message: "m" },
      issues: [],
    });
  });

  describe("position repairs (ValidateLinesAndColumns)", () => {
    it.each([
      ["endLine alone becomes line", "line=,endLine=5", { line: 5, endLine: 5 }],
      ["endColumn alone becomes col", "line=2,endColumn=8", { line: 2, column: 8, endColumn: 8 }],
      ["columns need a line", "col=3,endColumn=4", {}],
      ["columns need a one-line range", "line=1,endLine=3,col=3,endColumn=4", { line: 1, endLine: 3 }],
      ["an end line before the start drops both", "line=5,endLine=2", {}],
      ["an end column before the start drops both", "line=5,col=9,endColumn=2", { line: 5 }],
    ])("%s", (_, properties, expected) => {
      const result = processOne(`::error ${properties}::m`);
      expect(result).toEqual({
        kind: "annotation",
        annotation: { level: "error", message: "m", ...expected },
        issues: [],
      });
    });
  });
});

describe("legacy ##[ ] commands", () => {
  it("parses ##[group], ##[endgroup] and ##[error]", () => {
    expect(processAll(["##[group]Build", "##[error]boom", "##[endgroup]"])).toEqual([
      { kind: "group", title: "Build", issues: [] },
      { kind: "annotation", annotation: { level: "error", message: "boom" }, issues: [] },
      { kind: "endgroup", issues: [] },
    ]);
  });

  it("finds the prefix anywhere in the line, as the runner does", () => {
    expect(processOne("npm WARN ##[warning]careful")).toMatchObject({
      kind: "annotation",
      annotation: { level: "warning", message: "careful" },
    });
  });

  it("splits properties at ; and unescapes %3B and %5D", () => {
    expect(processOne("##[set-output name=out;other=x]a%3Bb%5Dc")).toMatchObject({
      kind: "set-output",
      name: "out",
      value: "a;b]c",
    });
  });

  it("is tried when the :: form names an unknown command", () => {
    expect(processOne("::foo:: ##[debug]hidden")).toEqual({ kind: "debug", message: "hidden", issues: [] });
  });
});

describe("groups, debug", () => {
  it("parses the documented group example", () => {
    expect(processAll(["::group::My title", "Inside group", "::endgroup::"])).toEqual([
      { kind: "group", title: "My title", issues: [] },
      { kind: "text", text: "Inside group", issues: [] },
      { kind: "endgroup", issues: [] },
    ]);
  });

  it("parses ::debug::", () => {
    expect(processOne("::debug::Set the Octocat variable")).toEqual({
      kind: "debug",
      message: "Set the Octocat variable",
      issues: [],
    });
  });
});

describe("add-mask", () => {
  it("registers the value", () => {
    expect(processOne("::add-mask::Mona The Octocat")).toEqual({
      kind: "add-mask",
      value: "Mona The Octocat",
      issues: [],
    });
  });

  it("warns about an empty or blank value", () => {
    const warning = {
      kind: "consumed",
      issues: [
        { level: "warning", message: "Can't add secret mask for empty string in ##[add-mask] command." },
      ],
    };
    expect(processOne("::add-mask::")).toEqual(warning);
    expect(processOne("::add-mask::   ")).toEqual(warning);
  });

  it("echoes the command with the value already masked", () => {
    const processor = new WorkflowCommandProcessor({ echo: true });
    expect(processor.processLine("::add-mask::hunter2")).toEqual({
      kind: "add-mask",
      value: "hunter2",
      echo: "::add-mask::***",
      issues: [],
    });
  });
});

describe("set-output and save-state (deprecated, still honoured)", () => {
  it("sets the output with GitHub's deprecation warning", () => {
    expect(deprecatedCommandMessage("set-output")).toBe(SET_OUTPUT_DEPRECATION);
    expect(processOne("::set-output name=x::y")).toEqual({
      kind: "set-output",
      name: "x",
      value: "y",
      issues: [{ level: "warning", message: SET_OUTPUT_DEPRECATION }],
    });
  });

  it("carries multi-line values through %0A", () => {
    expect(processOne("::set-output name=body::first%0Asecond")).toMatchObject({ value: "first\nsecond" });
  });

  it("saves state", () => {
    expect(processOne("::save-state name=processID::12345")).toEqual({
      kind: "save-state",
      name: "processID",
      value: "12345",
      issues: [{ level: "warning", message: deprecatedCommandMessage("save-state") }],
    });
  });

  it("fails without a name, after the deprecation warning", () => {
    expect(processOne("::set-output::y")).toEqual({
      kind: "failed",
      command: "set-output",
      issues: [
        { level: "warning", message: SET_OUTPUT_DEPRECATION },
        { level: "error", message: "Unable to process command '::set-output::y' successfully." },
        { level: "error", message: "Required field 'name' is missing in ##[set-output] command." },
      ],
    });
  });
});

describe("set-env and add-path (disabled unless ACTIONS_ALLOW_UNSECURE_COMMANDS)", () => {
  it("fails ::set-env:: with GitHub's message", () => {
    expect(processOne("::set-env name=A::1")).toEqual({
      kind: "failed",
      command: "set-env",
      issues: [
        { level: "error", message: "Unable to process command '::set-env name=A::1' successfully." },
        { level: "error", message: disabledCommandMessage("set-env") },
      ],
    });
    expect(disabledCommandMessage("set-env")).toBe(
      "The `set-env` command is disabled. Please upgrade to using Environment Files or opt into unsecure " +
        "command execution by setting the `ACTIONS_ALLOW_UNSECURE_COMMANDS` environment variable to `true`. " +
        "For more information see: " +
        "https://github.blog/changelog/2020-10-01-github-actions-deprecating-set-env-and-add-path-commands/",
    );
  });

  it("fails ::add-path::", () => {
    expect(processOne("::add-path::/opt/bin")).toMatchObject({
      kind: "failed",
      issues: [{ level: "error" }, { level: "error", message: disabledCommandMessage("add-path") }],
    });
  });

  it("honours both when allowed", () => {
    const processor = new WorkflowCommandProcessor({ allowUnsecureCommands: true });
    expect(processAll(["::set-env name=A::1", "::add-path::/opt/bin"], processor)).toEqual([
      { kind: "set-env", name: "A", value: "1", issues: [] },
      { kind: "add-path", path: "/opt/bin", issues: [] },
    ]);
  });

  it("refuses NODE_OPTIONS and empty values even when allowed", () => {
    const processor = new WorkflowCommandProcessor({ allowUnsecureCommands: true });
    expect(
      processAll(["::set-env name=node_options::--inspect", "::set-env::x", "::add-path::"], processor),
    ).toEqual([
      {
        kind: "consumed",
        issues: [
          {
            level: "error",
            message: "Can't update NODE_OPTIONS environment variable using ::set-env:: command.",
          },
        ],
      },
      {
        kind: "failed",
        command: "set-env",
        issues: [
          { level: "error", message: "Unable to process command '::set-env::x' successfully." },
          { level: "error", message: "Required field 'name' is missing in ##[set-env] command." },
        ],
      },
      {
        kind: "failed",
        command: "add-path",
        issues: [
          { level: "error", message: "Unable to process command '::add-path::' successfully." },
          { level: "error", message: "Value cannot be null. (Parameter 'path')" },
        ],
      },
    ]);
  });
});

describe("stop-commands", () => {
  it("follows the documented example", () => {
    const results = processAll([
      "::warning:: This is a warning message, to demonstrate that commands are being processed.",
      "::stop-commands::8a4c1f2e-stop",
      "::warning:: This will NOT be rendered as a warning, because stop-commands has been invoked.",
      "::add-mask::not-a-secret-now",
      "::8A4C1F2E-STOP::",
      "::warning:: This is a warning again, because stop-commands has been turned off.",
    ]);
    expect(results.map((result) => result.kind)).toEqual([
      "annotation",
      "stop-commands",
      "text",
      "text",
      "resume-commands",
      "annotation",
    ]);
    // The runner always prints both markers, and masks a token longer than 6 characters.
    expect(results[1]).toEqual({
      kind: "stop-commands",
      token: "8a4c1f2e-stop",
      maskToken: true,
      echo: "::stop-commands::8a4c1f2e-stop",
      issues: [],
    });
    expect(results[4]).toEqual({
      kind: "resume-commands",
      token: "8a4c1f2e-stop",
      echo: "::8A4C1F2E-STOP::",
      issues: [],
    });
  });

  it("resumes with the legacy form too, and reports its state", () => {
    const processor = new WorkflowCommandProcessor();
    expect(processor.processLine("::stop-commands::abc123")).toMatchObject({ maskToken: false });
    expect(processor.stoppedUntil).toBe("abc123");
    expect(processor.processLine("::abc123 extra words ignored")).toMatchObject({ kind: "text" });
    expect(processor.processLine("##[abc123]")).toMatchObject({ kind: "resume-commands" });
    expect(processor.stoppedUntil).toBeUndefined();
  });

  it.each(["", "pause-logging", "set-env", "STOP-COMMANDS"])("refuses the token %j", (token) => {
    const processor = new WorkflowCommandProcessor();
    expect(processor.processLine(`::stop-commands::${token}`)).toEqual({
      kind: "failed",
      command: "stop-commands",
      issues: [{ level: "error", message: INVALID_STOP_TOKEN_MESSAGE }],
    });
    expect(processor.stoppedUntil).toBeUndefined();
  });

  it("accepts any token when ACTIONS_ALLOW_UNSECURE_STOPCOMMAND_TOKENS is set; an empty one never resumes", () => {
    const processor = new WorkflowCommandProcessor({ allowUnsecureStopCommandTokens: true });
    expect(processAll(["::stop-commands::", "::::", "::error::x"], processor).map((r) => r.kind)).toEqual([
      "stop-commands",
      "text",
      "text",
    ]);
  });
});

describe("echo", () => {
  it("echoes commands that are not annotations, debug or masks while on", () => {
    const results = processAll([
      "::set-output name=a::b",
      "::echo::on",
      "::set-output name=a::b",
      "::error::shown as an annotation only",
      "::group::g",
      "::echo::OFF ",
      "::endgroup::",
    ]);
    expect(results.map((result) => result.echo)).toEqual([
      undefined,
      undefined,
      "::set-output name=a::b",
      undefined,
      "::group::g",
      "::echo::OFF ",
      undefined,
    ]);
    expect(results[1]).toEqual({ kind: "echo", enabled: true, issues: [] });
    expect(results[5]).toEqual({ kind: "echo", enabled: false, echo: "::echo::OFF ", issues: [] });
  });

  it("starts on when asked (step debug)", () => {
    const processor = new WorkflowCommandProcessor({ echo: true });
    expect(processor.echo).toBe(true);
    expect(processor.processLine("::endgroup::")).toEqual({
      kind: "endgroup",
      echo: "::endgroup::",
      issues: [],
    });
  });

  it("fails on a value other than on and off", () => {
    expect(processOne("::echo::maybe")).toEqual({
      kind: "failed",
      command: "echo",
      issues: [
        { level: "error", message: "Unable to process command '::echo::maybe' successfully." },
        {
          level: "error",
          message:
            "Invalid echo command value. Possible values can be: 'on', 'off'. Current value is: 'maybe'.",
        },
      ],
    });
    expect(processOne("::echo::")).toMatchObject({
      kind: "failed",
      issues: [{}, { message: "Value cannot be null. (Parameter 'value')" }],
    });
  });
});

describe("problem matchers", () => {
  it("hands add-matcher and remove-matcher to the caller", () => {
    expect(processAll(["::add-matcher::.github/eslint.json", "::remove-matcher owner=eslint::"])).toEqual([
      { kind: "add-matcher", file: ".github/eslint.json", issues: [] },
      { kind: "remove-matcher", owner: "eslint", issues: [] },
    ]);
  });

  it("warns as the runner does", () => {
    expect(processAll(["::add-matcher::", "::remove-matcher::", "::remove-matcher owner=a::b.json"])).toEqual(
      [
        { kind: "consumed", issues: [{ level: "warning", message: "File path must be specified." }] },
        {
          kind: "consumed",
          issues: [
            {
              level: "warning",
              message: "Either an owner name or a file path must be specified in ##[remove-matcher] command.",
            },
          ],
        },
        {
          kind: "consumed",
          issues: [
            {
              level: "warning",
              message:
                "Either specify an owner name or a file path in ##[remove-matcher] command. Both values cannot be set.",
            },
          ],
        },
      ],
    );
  });
});

describe("parseWorkflowCommand", () => {
  it("gives name, properties and data", () => {
    const command = parseWorkflowCommand("::Error File=a.js,line=1::msg\r\n", () => true);
    expect(command).toEqual({
      name: "error",
      properties: new Map([
        ["file", "a.js"],
        ["line", "1"],
      ]),
      data: "msg",
    });
  });

  it("never throws on malformed input", () => {
    const pieces = [
      "::",
      "##[",
      "]",
      "%",
      "%0",
      "%25",
      "=",
      ",",
      ";",
      " ",
      "error",
      "set-output",
      "name",
      "\r",
      "x",
    ];
    let seed = 42;
    const random = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    const processor = new WorkflowCommandProcessor({ allowUnsecureCommands: true });
    const thrown: string[] = [];
    for (let i = 0; i < 5000; i++) {
      let line = "";
      const length = random(12);
      for (let j = 0; j < length; j++) line += pieces[random(pieces.length)];
      try {
        processor.processLine(line);
      } catch {
        thrown.push(line);
      }
    }
    expect(thrown).toEqual([]);
  });
});
