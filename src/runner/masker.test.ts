import { Buffer } from "node:buffer";
import { describe, expect, it } from "vitest";
import { LineSplitter } from "./line-splitter.js";
import {
  SecretMasker,
  base64Escape,
  base64EscapeShifted,
  commandLineArgumentEscape,
  dotNetTrim,
  expressionStringEscape,
  isDotNetBlank,
  jsonStringEscape,
  powerShellPostAmpersandEscape,
  powerShellPreAmpersandEscape,
  trimDoubleQuotes,
  uriDataEscape,
  xmlDataEscape,
} from "./masker.js";

function maskerWith(...secrets: string[]): SecretMasker {
  const masker = new SecretMasker();
  for (const secret of secrets) masker.add(secret);
  return masker;
}

describe("SecretMasker.mask", () => {
  it("replaces every occurrence by ***", () => {
    expect(maskerWith("hunter2").mask("pass=hunter2; again hunter2.")).toBe("pass=***; again ***.");
  });

  it("returns text without secrets unchanged", () => {
    expect(maskerWith("hunter2").mask("nothing to see")).toBe("nothing to see");
    expect(new SecretMasker().mask("no secrets registered")).toBe("no secrets registered");
    expect(maskerWith("x").mask("")).toBe("");
  });

  it("masks one-character secrets too (the runner has no minimum length)", () => {
    expect(maskerWith("a").mask("banana")).toBe("b***n***n***");
  });

  it("masks the longest secret at a position", () => {
    expect(maskerWith("abc", "abcdef").mask("[abcdef]")).toBe("[***]");
  });

  it("merges overlapping and adjacent secrets into one ***", () => {
    expect(maskerWith("abcd", "cdef").mask("xabcdefx")).toBe("x***x");
    expect(maskerWith("secret").mask("secretsecret secret")).toBe("*** ***");
    expect(maskerWith("aa").mask("aaa")).toBe("***");
  });

  it("treats regular-expression characters literally", () => {
    expect(maskerWith("a.b*c(d)[e]$^|\\").mask("x a.b*c(d)[e]$^|\\ aXbbc")).toBe("x *** aXbbc");
  });

  it("finds the same runs by scanning (the first texts after an add) as by its compiled pattern", () => {
    // A seeded walk over small alphabets, where overlaps and adjacent secrets are frequent.
    let state = 12345;
    const next = (n: number): number => {
      state = (state * 1103515245 + 12345) % 2147483648;
      return state % n;
    };
    const word = (length: number): string =>
      Array.from({ length }, () => "abc.*"[next(5)] as string).join("");
    for (let round = 0; round < 300; round++) {
      const secrets = Array.from({ length: 1 + next(4) }, () => word(1 + next(4)));
      const scanning = maskerWith(...secrets);
      const compiled = maskerWith(...secrets);
      for (let i = 0; i < 70; i++) compiled.mask("warm up past the scanning texts");
      for (let i = 0; i < 5; i++) {
        const text = word(next(30));
        expect(scanning.mask(text), `${JSON.stringify(secrets)} in ${text}`).toBe(compiled.mask(text));
      }
    }
  });
});

describe("SecretMasker.add", () => {
  it("registers each line of a multi-line secret, trimmed", () => {
    const masker = maskerWith("-----BEGIN KEY-----\r\n  body line  \n-----END KEY-----\n");
    expect(masker.mask("body line")).toBe("***");
    expect(masker.mask("  body line  ")).toBe("  ***  ");
    expect(masker.mask("-----END KEY-----")).toBe("***");
    expect(masker.values.has("-----BEGIN KEY-----\r\n  body line  \n-----END KEY-----\n")).toBe(true);
  });

  it("registers a single line both as given and trimmed, like ::add-mask::", () => {
    const masker = maskerWith("  padded  ");
    expect(masker.values.has("  padded  ")).toBe(true);
    expect(masker.values.has("padded")).toBe(true);
  });

  it("ignores empty and blank values, which would mask every space", () => {
    const masker = maskerWith("", "   ", "\t\n");
    expect(masker.values.size).toBe(0);
    expect(masker.mask("a   b")).toBe("a   b");
  });

  it("applies new secrets to later lines", () => {
    const masker = maskerWith("first");
    expect(masker.mask("first second")).toBe("*** second");
    masker.add("second");
    expect(masker.mask("first second")).toBe("*** ***");
  });

  it("registers the encoded forms the runner registers", () => {
    const secret = `p@ss "w'rd"&<x>`;
    const masker = maskerWith(secret);
    for (const encoded of [
      Buffer.from(secret).toString("base64"),
      Buffer.from(secret.slice(1)).toString("base64"),
      Buffer.from(secret.slice(2)).toString("base64"),
      'p@ss \\"w\'rd\\"&<x>', // JSON and command-line escapes agree here
      "p@ss \"w''rd\"&<x>",
      "p%40ss%20%22w%27rd%22%26%3Cx%3E",
      "p@ss &quot;w&apos;rd&quot;&amp;&lt;x&gt;",
    ]) {
      expect(masker.mask(`[${encoded}]`), encoded).toBe("[***]");
    }
  });

  it("masks base64(user:password) whatever the prefix length", () => {
    const masker = maskerWith("Tr0ub4dor&3");
    for (const prefix of ["", "u:", "user:", "admin:"]) {
      const encoded = Buffer.from(prefix + "Tr0ub4dor&3").toString("base64");
      const masked = masker.mask(encoded);
      expect(masked, prefix).toMatch(/^[A-Za-z0-9+/]*\*\*\*$/);
      expect(masked.length).toBeLessThan(encoded.length);
    }
  });

  it("has the runner's encoded forms in `values`", () => {
    expect([...maskerWith("abc").values].sort()).toEqual(["YWJj", "YmM=", "Yw==", "abc"].sort());
  });
});

describe("value encoders", () => {
  it("base64 with its shifts", () => {
    expect(base64Escape("abc")).toBe("YWJj");
    expect(base64EscapeShifted("abc", 1)).toBe("YmM=");
    expect(base64EscapeShifted("abc", 2)).toBe("Yw==");
    expect(base64EscapeShifted("a", 2)).toBe("YQ=="); // too short to shift: unshifted
  });

  it("JSON as Newtonsoft writes it", () => {
    expect(jsonStringEscape('a"b\\c\n\t\u0001\u001f\u0085\u2028é')).toBe(
      'a\\"b\\\\c\\n\\t\\u0001\\u001f\\u0085\\u2028é',
    );
  });

  it("URI data as .NET Uri.EscapeDataString", () => {
    expect(uriDataEscape("a b!*'()~-._é/")).toBe("a%20b%21%2A%27%28%29~-._%C3%A9%2F");
    expect(uriDataEscape("\ud800x")).toBe("%EF%BF%BDx");
  });

  it("XML, expressions, command lines", () => {
    expect(xmlDataEscape(`<a href="x">'&'</a>`)).toBe(
      "&lt;a href=&quot;x&quot;&gt;&apos;&amp;&apos;&lt;/a&gt;",
    );
    expect(expressionStringEscape("it's")).toBe("it''s");
    expect(commandLineArgumentEscape('say "hi"')).toBe('say \\"hi\\"');
  });

  it("trims double quotes from quoted values longer than 8", () => {
    expect(trimDoubleQuotes('"12345678"')).toBe("12345678");
    expect(trimDoubleQuotes('"123456"')).toBe("");
    expect(trimDoubleQuotes("'12345678'")).toBe("");
  });

  it("splits at PowerShell's & like the runner's tests", () => {
    expect(powerShellPreAmpersandEscape("abcdef&")).toBe("abcdef&");
    expect(powerShellPreAmpersandEscape("abcdef&+ghijkl")).toBe("abcdef&+");
    expect(powerShellPreAmpersandEscape("abc&def&")).toBe("abc&def&");
    expect(powerShellPreAmpersandEscape("ab&")).toBe("");
    expect(powerShellPostAmpersandEscape("abc&ghijkl")).toBe("ghijkl");
    expect(powerShellPostAmpersandEscape("abcdef&")).toBe("");
    expect(powerShellPostAmpersandEscape("abc&+ghijklm")).toBe("hijklm");
    expect(powerShellPostAmpersandEscape("abc&+")).toBe(""); // the runner throws here
  });

  it(".NET white space, not JavaScript's", () => {
    expect(dotNetTrim("\u0085 x \u3000")).toBe("x");
    expect(dotNetTrim("\ufeffx\u200b")).toBe("\ufeffx\u200b");
    expect(isDotNetBlank("\u2028\t ")).toBe(true);
    expect(isDotNetBlank("\ufeff")).toBe(false);
  });
});

describe("masking output as it streams", () => {
  it("must mask complete lines: a secret cut across chunks leaks when chunks are masked", () => {
    const masker = maskerWith("s3cr3t-t0ken");
    const chunks = ["token: s3cr3t", "-t0ken\nnext line\n"].map((text) => Buffer.from(text));

    const chunkWise = chunks.map((chunk) => masker.mask(chunk.toString())).join("");
    expect(chunkWise).toContain("s3cr3t");

    const splitter = new LineSplitter();
    const lineWise = [...chunks.flatMap((chunk) => splitter.push(chunk)), ...splitter.end()].map((line) =>
      masker.mask(line.text),
    );
    expect(lineWise).toEqual(["token: ***", "next line"]);
  });

  it("masks 100k lines with 20 secrets well under a second", () => {
    const secrets = Array.from({ length: 20 }, (_, i) => `secret-${i}-${(i * 7919).toString(36)}xyz`);
    const masker = maskerWith(...secrets);
    const lines = Array.from({ length: 100_000 }, (_, i) =>
      i % 100 === 0
        ? `line ${i}: token=${secrets[i % 20] ?? ""} and more`
        : `2024-05-01T12:00:00.000Z [info] compiling module ${i} of 100000 (${i % 97} ms)`,
    );
    const start = performance.now();
    let masked = 0;
    for (const line of lines) if (masker.mask(line) !== line) masked += 1;
    const elapsed = performance.now() - start;
    expect(masked).toBe(1000);
    expect(elapsed).toBeLessThan(1000);
  });
});
