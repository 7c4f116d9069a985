/**
 * The audit log: who changed what that matters. Append-only; callers never put a secret's value in
 * `details` (the secrets service records names and scopes only).
 */
import { sql } from "kysely";
import type { Kysely, RawBuilder, SqlBool } from "kysely";
import { isJsonObject } from "../json.js";
import type { JsonObject } from "../json.js";
import { nextValue, timestamp } from "./counters.js";
import type { Database } from "./schema.js";

export interface AuditRecord {
  /** The login who did it; null for the server itself (a timer, a webhook). */
  readonly actor: string | null;
  /** Dotted verb, e.g. `secret.set`, `deployment.approve`, `runner.register`. */
  readonly action: string;
  /** What it acted on, e.g. `repo:alice/app/env:production`. */
  readonly target: string;
  readonly details?: JsonObject;
}

export interface AuditEvent {
  readonly id: number;
  readonly actor: string | null;
  readonly action: string;
  readonly target: string;
  readonly details: JsonObject;
  readonly createdAt: string;
}

export interface AuditFilter {
  readonly actor?: string;
  /** An exact action (`secret.set`) or a family ending in `.` or `.*` (`secret.`, `secret.*`). */
  readonly action?: string;
  /** Events whose target starts with this. */
  readonly targetPrefix?: string;
  /** ISO timestamps, inclusive. */
  readonly since?: string;
  readonly until?: string;
  /** Paging, newest first: only events with an id below this. */
  readonly before?: number;
  /** At most this many (default 50, capped at 500). */
  readonly limit?: number;
}

export const AUDIT_PAGE_MAX = 500;

export class AuditStore {
  constructor(private readonly db: Kysely<Database>) {}

  async record(entry: AuditRecord): Promise<AuditEvent> {
    const id = await nextValue(this.db, "audit_events");
    const createdAt = timestamp();
    const details = entry.details ?? {};
    await this.db
      .insertInto("audit_events")
      .values({
        id,
        actor: entry.actor,
        action: entry.action,
        target: entry.target,
        details: JSON.stringify(details),
        created_at: createdAt,
      })
      .execute();
    return { id, actor: entry.actor, action: entry.action, target: entry.target, details, createdAt };
  }

  /** Newest first. */
  async list(filter: AuditFilter = {}): Promise<AuditEvent[]> {
    let query = this.db.selectFrom("audit_events").selectAll();
    if (filter.actor !== undefined) query = query.where("actor", "=", filter.actor);
    if (filter.action !== undefined) {
      const family = actionFamily(filter.action);
      query =
        family === undefined
          ? query.where("action", "=", filter.action)
          : query.where(startsWith("action", family));
    }
    if (filter.targetPrefix !== undefined && filter.targetPrefix !== "") {
      query = query.where(startsWith("target", filter.targetPrefix));
    }
    if (filter.since !== undefined) query = query.where("created_at", ">=", filter.since);
    if (filter.until !== undefined) query = query.where("created_at", "<=", filter.until);
    if (filter.before !== undefined) query = query.where("id", "<", filter.before);
    const limit = Math.max(1, Math.min(filter.limit ?? 50, AUDIT_PAGE_MAX));
    const rows = await query.orderBy("id", "desc").limit(limit).execute();
    return rows.map((row) => ({
      id: Number(row.id),
      actor: row.actor,
      action: row.action,
      target: row.target,
      details: parseDetails(row.details),
      createdAt: row.created_at,
    }));
  }
}

/** `secret.` or `secret.*` → `secret.`; an exact action → undefined. */
function actionFamily(action: string): string | undefined {
  if (action.endsWith(".*")) return action.slice(0, -1);
  if (action.endsWith(".")) return action;
  return undefined;
}

/**
 * A case-sensitive prefix test that means the same on SQLite and PostgreSQL (LIKE differs in case
 * handling and needs escaping; `substr` does not).
 */
function startsWith(column: "action" | "target", prefix: string): RawBuilder<SqlBool> {
  return sql<SqlBool>`substr(${sql.ref(column)}, 1, ${prefix.length}) = ${prefix}`;
}

function parseDetails(text: string): JsonObject {
  try {
    const parsed: unknown = JSON.parse(text);
    return isJsonObject(parsed) ? (parsed as JsonObject) : {};
  } catch {
    return {};
  }
}
