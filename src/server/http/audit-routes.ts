/**
 * GET /api/v1/audit: the audit log, newest first, for administrators. Filters: actor, action
 * (exact, or a family as `secret.*`), target (a prefix), since and until (ISO times); paging with
 * `before` (the `next` of the previous page) and `limit`.
 */
import type { FastifyInstance } from "fastify";
import { AUDIT_PAGE_MAX } from "../../store/audit.js";
import type { AuditFilter } from "../../store/audit.js";
import type { ServerContext } from "../server-context.js";
import { requireUser } from "./authenticate.js";
import { sendError } from "./errors.js";

type AuditQuery = Partial<
  Record<"actor" | "action" | "target" | "since" | "until" | "before" | "limit", string>
>;

export function registerAuditRoutes(app: FastifyInstance, context: ServerContext): void {
  app.get<{ Querystring: AuditQuery }>("/api/v1/audit", async (request, reply) => {
    const user = await requireUser(context, request, reply);
    if (!user) return reply;
    if (!user.isAdmin) return sendError(reply, 403, "only an administrator can read the audit log.");
    const filter = auditFilter(request.query);
    if (typeof filter === "string") return sendError(reply, 400, filter);
    const limit = filter.limit ?? 50;
    const events = await context.store.audit.list({ ...filter, limit });
    const last = events.at(-1);
    return { events, next: events.length === limit && last ? last.id : null };
  });
}

/** The filter from the query string, or a message naming the parameter at fault. Pure. */
export function auditFilter(query: AuditQuery): AuditFilter | string {
  const filter: { -readonly [K in keyof AuditFilter]: AuditFilter[K] } = {};
  if (query.actor) filter.actor = query.actor;
  if (query.action) filter.action = query.action;
  if (query.target) filter.targetPrefix = query.target;
  for (const field of ["since", "until"] as const) {
    const value = query[field];
    if (value === undefined || value === "") continue;
    const at = Date.parse(value);
    if (Number.isNaN(at)) return `${field} must be an ISO time such as 2025-01-31T12:00:00Z.`;
    filter[field] = new Date(at).toISOString();
  }
  for (const field of ["before", "limit"] as const) {
    const value = query[field];
    if (value === undefined || value === "") continue;
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1) return `${field} must be a whole number of 1 or more.`;
    if (field === "limit" && n > AUDIT_PAGE_MAX) return `limit may be at most ${AUDIT_PAGE_MAX}.`;
    filter[field] = n;
  }
  return filter;
}
