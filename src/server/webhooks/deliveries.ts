/**
 * Which forge sent a webhook delivery, what event it carries and its delivery id, read from the
 * headers alone. Pure.
 *
 * Gitea sends GitHub's and Gogs' headers too (`X-GitHub-Event`, `X-GitHub-Delivery`), and Forgejo
 * sends Gitea's, so the most specific header decides: `X-Forgejo-Event`, then `X-Gitea-Event`,
 * then `X-Gitlab-Event`, then `X-GitHub-Event`.
 *
 * The delivery id is what makes a redelivery recognisable: GitHub and Gitea/Forgejo keep it on a
 * redelivery; GitLab sends `Idempotency-Key` (the same on every retry of one delivery) since 17.4
 * and `X-Gitlab-Event-UUID` before that.
 */
import { type Result, error, failed, ok } from "../../diagnostic.js";
import { type WebhookHeaders, readHeader } from "./headers.js";

export type Provider = "github" | "gitea" | "forgejo" | "gitlab";

/** What Conveyor does with the event: push and pull_request start workflows, ping is answered. */
export type DeliveryKind = "push" | "pull_request" | "ping" | "other";

export interface Delivery {
  readonly provider: Provider;
  readonly kind: DeliveryKind;
  /** The event as the forge names it: `push`, `pull_request`, `Merge Request Hook`, ... */
  readonly event: string;
  /** Gitea's and Forgejo's finer event type (`pull_request_sync`), when sent. */
  readonly eventType?: string;
  /** The same on a redelivery; undefined when the forge sent none (GitLab before 14). */
  readonly id?: string;
}

/** The forges' own names, for messages. */
export const PROVIDER_NAMES: Readonly<Record<Provider, string>> = {
  github: "GitHub",
  gitea: "Gitea",
  forgejo: "Forgejo",
  gitlab: "GitLab",
};

interface HeaderScheme {
  readonly provider: Provider;
  readonly event: string;
  readonly eventType?: string;
  /** In order of preference. */
  readonly ids: readonly string[];
}

const SCHEMES: readonly HeaderScheme[] = [
  {
    provider: "forgejo",
    event: "X-Forgejo-Event",
    eventType: "X-Forgejo-Event-Type",
    ids: ["X-Forgejo-Delivery"],
  },
  { provider: "gitea", event: "X-Gitea-Event", eventType: "X-Gitea-Event-Type", ids: ["X-Gitea-Delivery"] },
  { provider: "gitlab", event: "X-Gitlab-Event", ids: ["Idempotency-Key", "X-Gitlab-Event-UUID"] },
  { provider: "github", event: "X-GitHub-Event", ids: ["X-GitHub-Delivery"] },
];

const GITLAB_KINDS: Readonly<Record<string, DeliveryKind>> = {
  "Push Hook": "push",
  "Tag Push Hook": "push",
  "Merge Request Hook": "pull_request",
};

/** Ids are stored and compared: printable ASCII, and short. */
const DELIVERY_ID = /^[\x21-\x7e]{1,200}$/u;

export function identifyDelivery(headers: WebhookHeaders): Result<Delivery> {
  const scheme = SCHEMES.find((s) => readHeader(headers, s.event.toLowerCase()).kind !== "absent");
  if (!scheme) {
    return failed([
      error(
        "the request is not a webhook delivery Conveyor understands: it has none of the headers X-GitHub-Event, X-Gitea-Event, X-Forgejo-Event or X-Gitlab-Event; point a GitHub, Gitea, Forgejo or GitLab webhook at this address",
      ),
    ]);
  }
  const event = readHeader(headers, scheme.event.toLowerCase());
  if (event.kind !== "present") {
    return failed([error(`the delivery sends the ${scheme.event} header more than once; send it once`)]);
  }
  const id = deliveryId(headers, scheme);
  if (!id.ok) return id;
  const eventType =
    scheme.eventType === undefined ? undefined : readHeader(headers, scheme.eventType.toLowerCase());
  return ok({
    provider: scheme.provider,
    kind: kindOf(scheme.provider, event.value),
    event: event.value,
    ...(eventType?.kind === "present" ? { eventType: eventType.value } : {}),
    ...(id.value === undefined ? {} : { id: id.value }),
  });
}

/** The key a redelivery shares with the first delivery, scoped by forge. */
export function deliveryKey(delivery: Delivery): string | undefined {
  return delivery.id === undefined ? undefined : `${delivery.provider}:${delivery.id}`;
}

function kindOf(provider: Provider, event: string): DeliveryKind {
  if (provider === "gitlab")
    return Object.hasOwn(GITLAB_KINDS, event) ? (GITLAB_KINDS[event] ?? "other") : "other";
  // Gitea names every pull request activity `pull_request` here and the detail in the event type.
  if (event === "push" || event === "pull_request" || event === "ping") return event;
  return "other";
}

function deliveryId(headers: WebhookHeaders, scheme: HeaderScheme): Result<string | undefined> {
  for (const name of scheme.ids) {
    const read = readHeader(headers, name.toLowerCase());
    if (read.kind === "absent") continue;
    if (read.kind === "repeated")
      return failed([error(`the delivery sends the ${name} header more than once`)]);
    if (!DELIVERY_ID.test(read.value)) {
      return failed([
        error(
          `the ${name} header is not a delivery id: it must be 1 to 200 printable ASCII characters without spaces`,
        ),
      ]);
    }
    return ok(read.value);
  }
  return ok(undefined);
}
