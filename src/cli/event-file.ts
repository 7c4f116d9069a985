/** Reads an event payload file given with `-e`, as act does. */
import { readFile } from "node:fs/promises";
import { failed, fileError, ok } from "../diagnostic.js";
import type { Result } from "../diagnostic.js";

export async function readEventPayload(path: string): Promise<Result<Record<string, unknown>>> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch {
    return failed([fileError(path, "cannot read the event file: check the path given with -e.")]);
  }
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      return failed([fileError(path, "the event file must hold a JSON object (a webhook payload).")]);
    }
    return ok(value as Record<string, unknown>);
  } catch (e) {
    const reason = e instanceof Error ? e.message : String(e);
    return failed([fileError(path, `the event file is not valid JSON (${reason}).`)]);
  }
}
