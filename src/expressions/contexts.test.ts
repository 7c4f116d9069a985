import { data } from "@actions/expressions";
import { describe, expect, test } from "vitest";
import type { JsonValue } from "../json.js";
import {
  CaseSensitiveDictionary,
  CONTEXT_NAMES,
  contextsToDictionary,
  fromExpressionData,
  toExpressionData,
} from "./contexts.js";

describe("JSON <-> expression data", () => {
  test("round trip keeps every kind and the key order", () => {
    const value: JsonValue = { b: [1, "two", true, null, { c: -0.5 }], a: {}, "with space": "" };
    const converted = toExpressionData(value);
    expect(converted.kind).toBe(data.Kind.Dictionary);
    expect(fromExpressionData(converted)).toEqual(value);
    expect(Object.keys(fromExpressionData(converted) as object)).toEqual(["b", "a", "with space"]);
  });

  test("objects become case-insensitive dictionaries", () => {
    const dictionary = toExpressionData({ Event_Name: "push" });
    expect(dictionary.kind === data.Kind.Dictionary && dictionary.get("EVENT_NAME")).toEqual(
      new data.StringData("push"),
    );
  });

  test("a `__proto__` key comes back as a key, not as a prototype", () => {
    const back = fromExpressionData(
      toExpressionData(JSON.parse('{"__proto__": {"polluted": true}}') as JsonValue),
    );
    expect(Object.getPrototypeOf(back)).toBe(Object.prototype);
    expect(Object.keys(back as object)).toEqual(["__proto__"]);
  });
});

describe("contextsToDictionary", () => {
  test("every context name is present; absent ones are null", () => {
    const root = contextsToDictionary({ github: { sha: "abc" } });
    expect(root.pairs().map((p) => p.key)).toEqual([...CONTEXT_NAMES]);
    expect(root.get("matrix")).toEqual(new data.Null());
    expect(fromExpressionData(root.get("GitHub") ?? new data.Null())).toEqual({ sha: "abc" });
  });

  test("env compares keys exactly", () => {
    const env = contextsToDictionary({ env: { Path: "/bin", PATH: "/usr/bin" } }).get("env");
    expect(env).toBeInstanceOf(CaseSensitiveDictionary);
    expect(env?.kind === data.Kind.Dictionary && env.get("PATH")).toEqual(new data.StringData("/usr/bin"));
    expect(env?.kind === data.Kind.Dictionary && env.get("path")).toBe(undefined);
    expect(fromExpressionData(env ?? new data.Null())).toEqual({ Path: "/bin", PATH: "/usr/bin" });
  });
});
