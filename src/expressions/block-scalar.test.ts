import { describe, expect, it } from "vitest";
import { blockScalarValue, formatExpressionOf } from "./block-scalar.js";

describe("block scalars with expressions", () => {
  it("takes the value YAML gives the scalar: indentation removed, folding applied", () => {
    expect(blockScalarValue("|", '          echo "${{ env.G }} world"\n          echo two\n')).toBe(
      'echo "${{ env.G }} world"\necho two\n',
    );
    expect(blockScalarValue(">-", "          folded ${{ env.G }}\n          line\n")).toBe(
      "folded ${{ env.G }} line",
    );
  });

  it("rebuilds the format() expression the parser would have built from the value", () => {
    expect(formatExpressionOf('echo "${{ env.G }} world"\necho {x} it\'s\n')).toBe(
      "format('echo \"{0} world\"\necho {{x}} it''s\n', env.G)",
    );
    expect(formatExpressionOf("a ${{ x }} b ${{y}}")).toBe("format('a {0} b {1}', x, y)");
    expect(formatExpressionOf("no expressions")).toBeUndefined();
  });
});
