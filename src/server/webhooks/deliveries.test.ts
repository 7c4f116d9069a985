import { describe, expect, it } from "vitest";
import { type Delivery, deliveryKey, identifyDelivery } from "./deliveries.js";
import type { WebhookHeaders } from "./headers.js";

function identify(headers: WebhookHeaders): Delivery {
  const result = identifyDelivery(headers);
  if (!result.ok) throw new Error(result.errors.map((e) => e.message).join("\n"));
  return result.value;
}

function refusal(headers: WebhookHeaders): string {
  const result = identifyDelivery(headers);
  if (result.ok) throw new Error(`expected a refusal, got ${JSON.stringify(result.value)}`);
  return result.errors.map((e) => e.message).join("\n");
}

describe("identifyDelivery", () => {
  it("reads GitHub's event and delivery GUID", () => {
    const delivery = identify({
      "x-github-event": "push",
      "x-github-delivery": "72d3162e-cc78-11e3-81ab-4c9367dc0958",
      "x-hub-signature-256": "sha256=00",
    });
    expect(delivery).toEqual({
      provider: "github",
      kind: "push",
      event: "push",
      id: "72d3162e-cc78-11e3-81ab-4c9367dc0958",
    });
    expect(deliveryKey(delivery)).toBe("github:72d3162e-cc78-11e3-81ab-4c9367dc0958");
  });

  it("recognises GitHub's ping, pull_request and other events", () => {
    expect(identify({ "x-github-event": "ping" }).kind).toBe("ping");
    expect(identify({ "x-github-event": "pull_request" }).kind).toBe("pull_request");
    expect(identify({ "x-github-event": "issues" })).toMatchObject({ kind: "other", event: "issues" });
  });

  it("takes Gitea for Gitea even though it sends GitHub's headers too", () => {
    const delivery = identify({
      "x-github-event": "pull_request",
      "x-github-delivery": "github-copy",
      "x-gogs-event": "pull_request",
      "x-gitea-event": "pull_request",
      "x-gitea-event-type": "pull_request_sync",
      "x-gitea-delivery": "3c5c6c41-1b5f-4f6e-9a28-3b8d2b1c0e9f",
    });
    expect(delivery).toEqual({
      provider: "gitea",
      kind: "pull_request",
      event: "pull_request",
      eventType: "pull_request_sync",
      id: "3c5c6c41-1b5f-4f6e-9a28-3b8d2b1c0e9f",
    });
  });

  it("takes Forgejo for Forgejo even though it sends Gitea's headers too", () => {
    const delivery = identify({
      "x-gitea-event": "push",
      "x-gitea-delivery": "gitea-copy",
      "x-forgejo-event": "push",
      "x-forgejo-delivery": "0f9e6a8c-0d5b-4a39-9f7e-1a2b3c4d5e6f",
    });
    expect(delivery).toMatchObject({
      provider: "forgejo",
      kind: "push",
      id: "0f9e6a8c-0d5b-4a39-9f7e-1a2b3c4d5e6f",
    });
  });

  it("reads GitLab's hook names", () => {
    expect(identify({ "x-gitlab-event": "Push Hook" }).kind).toBe("push");
    expect(identify({ "x-gitlab-event": "Tag Push Hook" }).kind).toBe("push");
    expect(identify({ "x-gitlab-event": "Merge Request Hook" }).kind).toBe("pull_request");
    expect(identify({ "x-gitlab-event": "Note Hook" })).toMatchObject({ kind: "other", event: "Note Hook" });
  });

  it("prefers GitLab's Idempotency-Key, which a retry keeps, to the event UUID", () => {
    const both = identify({
      "x-gitlab-event": "Push Hook",
      "x-gitlab-event-uuid": "13792a34-cac6-4fda-95a8-c58e00a3954e",
      "idempotency-key": "f5e5f430-f57b-4e6e-9fac-d9128cd7232f",
    });
    expect(both.id).toBe("f5e5f430-f57b-4e6e-9fac-d9128cd7232f");
    const uuidOnly = identify({
      "x-gitlab-event": "Push Hook",
      "x-gitlab-event-uuid": "13792a34-cac6-4fda-95a8-c58e00a3954e",
    });
    expect(uuidOnly.id).toBe("13792a34-cac6-4fda-95a8-c58e00a3954e");
  });

  it("leaves the id out when the forge sent none", () => {
    const delivery = identify({ "x-gitlab-event": "Push Hook" });
    expect(delivery.id).toBeUndefined();
    expect(deliveryKey(delivery)).toBeUndefined();
  });

  it("refuses a request that is no forge's webhook, naming the headers it looked for", () => {
    expect(refusal({ "content-type": "application/json" })).toMatch(
      /X-GitHub-Event, X-Gitea-Event, X-Forgejo-Event or X-Gitlab-Event/u,
    );
  });

  it("refuses an event header sent twice, and a delivery id that is not one", () => {
    expect(refusal({ "x-github-event": ["push", "ping"] })).toMatch(/X-GitHub-Event header more than once/u);
    expect(refusal({ "x-github-event": "push", "x-github-delivery": "two words" })).toMatch(
      /X-GitHub-Delivery header is not a delivery id/u,
    );
    expect(refusal({ "x-github-event": "push", "x-github-delivery": "x".repeat(201) })).toMatch(/1 to 200/u);
  });
});
