/**
 * Webhooks from GitHub, Gitea/Forgejo and GitLab, independent of the HTTP framework. A delivery
 * goes: identifyDelivery(headers) → verifyDeliverySignature(provider, headers, rawBody, secret) →
 * deduplicate on deliveryKey(delivery) → normalizeDelivery(delivery, rawBody) → mirrors.fetch(
 * event.repository.cloneUrl) → match workflows with triggerEventOf(event).
 */
export {
  type Delivery,
  type DeliveryKind,
  type Provider,
  deliveryKey,
  identifyDelivery,
} from "./deliveries.js";
export type { WebhookHeaders } from "./headers.js";
export { type SignatureCheck, type SignatureFailure, verifyDeliverySignature } from "./signatures.js";
export { normalizeDelivery, triggerEventOf } from "./normalize.js";
export type {
  Normalized,
  NormalizedEvent,
  NormalizedRepository,
  PullRequestFacts,
} from "./normalized-event.js";
export {
  type Mirror,
  type MirrorAuth,
  type MirrorFetchOptions,
  RepositoryMirrors,
  type RepositoryMirrorsOptions,
} from "./mirror.js";
