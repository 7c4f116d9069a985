/** Ids, run numbers and the clock, the same on every database. */
import { sql } from "kysely";
import type { Kysely } from "kysely";
import type { Database } from "./schema.js";

/** The next value of a named counter (1 the first time), atomically, in any server process. */
export async function nextValue(db: Kysely<Database>, name: string): Promise<number> {
  const row = await db
    .insertInto("counters")
    .values({ name, value: 1 })
    .onConflict((oc) => oc.column("name").doUpdateSet({ value: sql<number>`counters.value + 1` }))
    .returning("value")
    .executeTakeFirstOrThrow();
  return Number(row.value);
}

/** Timestamps are ISO-8601 UTC strings: portable, and they sort as text. */
export function timestamp(at: number = Date.now()): string {
  return new Date(at).toISOString();
}
