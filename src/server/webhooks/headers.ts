/**
 * Reading one header of a webhook delivery. The server hands over headers with lower-cased names,
 * as Node's `IncomingHttpHeaders` has them; a header sent twice arrives as an array, which no
 * forge does for the headers read here, so it is refused rather than guessed at.
 */

export type WebhookHeaders = Readonly<Record<string, string | readonly string[] | undefined>>;

export type HeaderRead =
  | { readonly kind: "absent" }
  | { readonly kind: "repeated" }
  | { readonly kind: "present"; readonly value: string };

/** The header's value without surrounding white space; an empty value counts as absent. */
export function readHeader(headers: WebhookHeaders, lowerCaseName: string): HeaderRead {
  const raw = Object.hasOwn(headers, lowerCaseName) ? headers[lowerCaseName] : undefined;
  const values = raw === undefined ? [] : typeof raw === "string" ? [raw] : raw;
  const given = values.map((value) => value.trim()).filter((value) => value !== "");
  if (given.length === 0) return { kind: "absent" };
  if (given.length > 1) return { kind: "repeated" };
  return { kind: "present", value: given[0] as string };
}

/** The value, or undefined when absent or repeated. */
export function headerValue(headers: WebhookHeaders, lowerCaseName: string): string | undefined {
  const read = readHeader(headers, lowerCaseName);
  return read.kind === "present" ? read.value : undefined;
}
