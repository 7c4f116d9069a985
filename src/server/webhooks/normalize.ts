/**
 * A webhook delivery's body, from any forge, as the GitHub-shaped event workflows are matched
 * against and run with (see normalized-event.ts for the shape, and one file per forge for what
 * each one's payload needs). Pure: bytes and identified headers in, a value out.
 *
 * A ping, and an event that is not a push or a pull request, is `ignored` with the reason; a body
 * that is not the JSON the forge sends for its event is an error naming each field at fault.
 */
import { type Result, error, failed, ok } from "../../diagnostic.js";
import type { JsonObject } from "../../json.js";
import { isJsonObject } from "../../json.js";
import type { TriggerEvent } from "../../workflow/triggers.js";
import { type Delivery, PROVIDER_NAMES } from "./deliveries.js";
import type { Normalized, NormalizedEvent } from "./normalized-event.js";
import { normalizeGitHubPullRequest, normalizeGitHubPush } from "./normalize-github.js";
import { normalizeGiteaPullRequest, normalizeGiteaPush } from "./normalize-gitea.js";
import { normalizeGitLabMergeRequest, normalizeGitLabPush } from "./normalize-gitlab.js";

export function normalizeDelivery(
  delivery: Pick<Delivery, "provider" | "kind" | "event">,
  body: Uint8Array | string,
): Result<Normalized> {
  const forge = PROVIDER_NAMES[delivery.provider];
  if (delivery.kind === "ping")
    return ok({ kind: "ignored", reason: `a ${forge} ping: the webhook reaches Conveyor` });
  if (delivery.kind === "other") {
    return ok({
      kind: "ignored",
      reason: `${forge} event '${delivery.event}' starts no workflows: Conveyor acts on push and pull request events`,
    });
  }
  const parsed = parseBody(body, forge);
  if (!parsed.ok) return parsed;
  const payload = parsed.value;
  switch (delivery.provider) {
    case "github":
      return delivery.kind === "push" ? normalizeGitHubPush(payload) : normalizeGitHubPullRequest(payload);
    case "gitea":
    case "forgejo":
      return delivery.kind === "push"
        ? normalizeGiteaPush(payload, forge)
        : normalizeGiteaPullRequest(payload, forge);
    case "gitlab":
      return delivery.kind === "push" ? normalizeGitLabPush(payload) : normalizeGitLabMergeRequest(payload);
  }
}

/** What the trigger matcher takes. */
export function triggerEventOf(event: NormalizedEvent): TriggerEvent {
  return {
    name: event.eventName,
    payload: event.payload,
    ...(event.changedFiles === undefined ? {} : { changedFiles: event.changedFiles }),
  };
}

function parseBody(body: Uint8Array | string, forge: string): Result<JsonObject> {
  let text: string;
  try {
    text = typeof body === "string" ? body : new TextDecoder("utf-8", { fatal: true }).decode(body);
  } catch {
    return failed([error("the webhook body is not UTF-8 text; a forge sends JSON")]);
  }
  if (text.startsWith("payload=")) {
    return failed([
      error(`the webhook body is form-encoded: set the ${forge} webhook's content type to application/json`),
    ]);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    const reason = e instanceof Error ? e.message : String(e);
    return failed([
      error(
        `the webhook body is not JSON (${reason}): set the ${forge} webhook's content type to application/json`,
      ),
    ]);
  }
  if (!isJsonObject(value))
    return failed([error("the webhook body is JSON but not an object; a forge sends an object")]);
  return ok(value);
}
