/**
 * GitHub's parser turns a block scalar holding `${{ }}` (`run: |` with an expression inside)
 * into a `format()` over the scalar's raw source, indentation and all, and without folding for
 * `>`. The runner evaluates the scalar's value instead. This rebuilds the expression from the
 * value so scripts run exactly as written.
 */
import type { BasicExpressionToken } from "@actions/workflow-parser/templates/tokens/index";
import { parse } from "yaml";

const corrected = new WeakMap<BasicExpressionToken, string>();

/** The expression to evaluate for a token: its own, or the corrected one for a block scalar. */
export function expressionOf(token: BasicExpressionToken): string {
  if (!token.blockScalarHeader || token.source === undefined) return token.expression;
  const known = corrected.get(token);
  if (known !== undefined) return known;
  const value = blockScalarValue(token.blockScalarHeader, token.source);
  const expression = value === undefined ? token.expression : (formatExpressionOf(value) ?? token.expression);
  corrected.set(token, expression);
  return expression;
}

/** The value YAML gives a block scalar with this header and this (indented) source. */
export function blockScalarValue(header: string, source: string): string | undefined {
  try {
    const value: unknown = parse(`${header}\n${source}`);
    return typeof value === "string" ? value : undefined;
  } catch {
    return undefined;
  }
}

/**
 * `a ${{ x }} b` as `format('a {0} b', x)`, the way the parser converts templates; undefined
 * when the text holds no complete `${{ }}`.
 */
export function formatExpressionOf(text: string): string | undefined {
  const literals: string[] = [];
  const expressions: string[] = [];
  let position = 0;
  for (;;) {
    const start = text.indexOf("${{", position);
    if (start < 0) break;
    const end = text.indexOf("}}", start + 3);
    if (end < 0) break;
    literals.push(text.slice(position, start));
    expressions.push(text.slice(start + 3, end).trim());
    position = end + 2;
  }
  if (expressions.length === 0) return undefined;
  literals.push(text.slice(position));
  const escape = (s: string): string => s.replace(/'/g, "''").replace(/\{/g, "{{").replace(/\}/g, "}}");
  const template = literals
    .map((literal, i) => escape(literal) + (i < expressions.length ? `{${i}}` : ""))
    .join("");
  return `format('${template}', ${expressions.join(", ")})`;
}
