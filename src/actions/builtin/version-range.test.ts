import { describe, expect, it } from "vitest";
import { compareVersions, parseVersion, parseVersionRange, satisfies } from "./version-range.js";

function matches(spec: string, version: string): boolean {
  const range = parseVersionRange(spec);
  const parsed = parseVersion(version);
  if (!range.ok || !parsed) throw new Error(`cannot read ${spec} or ${version}`);
  return satisfies(parsed, range.value);
}

describe("version ranges (setup-node, setup-python)", () => {
  it.each([
    ["20", "v20.20.2", true],
    ["20", "21.0.0", false],
    ["20", "19.9.9", false],
    ["20.x", "20.1.0", true],
    ["v20", "20.0.0", true],
    ["20.20.2", "20.20.2", true],
    ["20.20.2", "20.20.3", false],
    [">=18", "20.1.0", true],
    [">=18", "16.20.0", false],
    [">= 18 <21", "20.1.0", true],
    [">=18 <20", "20.1.0", false],
    [">20", "21.0.0", true],
    [">20", "20.9.0", false],
    ["<=20", "20.9.0", true],
    ["<20", "20.0.0", false],
    ["^18.2", "18.9.0", true],
    ["^18.2", "19.0.0", false],
    ["^0.2.3", "0.2.9", true],
    ["^0.2.3", "0.3.0", false],
    ["~20.1", "20.1.5", true],
    ["~20.1", "20.2.0", false],
    ["18 || 20", "20.3.0", true],
    ["18 || 22", "20.3.0", false],
    ["18 - 20", "20.9.9", true],
    ["18 - 20", "21.0.0", false],
    ["*", "1.2.3", true],
    ["3.10", "3.10.4", true],
    ["3.10", "3.1.0", false],
    ["3.10", "3.11.0", false],
    ["3.x", "3.12.1", true],
    [">=3.9,<3.13", "3.11.7", true],
    [">=3.9,<3.13", "3.13.0", false],
    ["~=3.10", "3.12.0", true],
    ["~=3.10", "4.0.0", false],
    ["~=3.10.2", "3.10.5", true],
    ["~=3.10.2", "3.11.0", false],
    ["==3.11.*", "3.11.7", true],
    ["==3.11.*", "3.12.0", false],
    ["!=3.11.7", "3.11.7", false],
    [">=3.8, !=3.11.7", "3.11.6", true],
    ["20", "21.0.0-rc1", false],
    ["3.13", "3.13.0rc1", false],
    [">=3.13.0rc1", "3.13.0", true],
  ])("%s against %s is %s", (spec, version, expected) => {
    expect(matches(spec, version)).toBe(expected);
  });

  it("refuses what is not a version", () => {
    expect(parseVersionRange("lts/*").ok).toBe(false);
    expect(parseVersionRange("banana").ok).toBe(false);
    expect(parseVersionRange(">*").ok).toBe(false);
    expect(parseVersion("python")).toBeUndefined();
  });

  it("orders prereleases before their release", () => {
    const [rc, release] = [parseVersion("3.13.0rc1"), parseVersion("3.13.0")];
    if (!rc || !release) throw new Error("unreadable");
    expect(compareVersions(rc, release)).toBeLessThan(0);
    expect(rc.prerelease).toBe("rc1");
  });
});
