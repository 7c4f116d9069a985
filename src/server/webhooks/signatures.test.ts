import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import type { WebhookHeaders } from "./headers.js";
import { type SignatureCheck, verifyDeliverySignature } from "./signatures.js";

const SECRET = "s3cret-Conveyor-hook";
const BODY = Buffer.from('{"ref":"refs/heads/main","zen":"Keep it logically awesome."}\n');

function hmacHex(secret: string, body: Uint8Array): string {
  return createHmac("sha256", secret).update(body).digest("hex");
}

function failureOf(check: SignatureCheck): string | undefined {
  return check.valid ? undefined : check.failure;
}

/** No verdict may carry the secret or what was sent in the header. */
function expectNothingLeaked(check: SignatureCheck, ...secrets: string[]): void {
  const text = JSON.stringify(check);
  for (const secret of secrets) expect(text).not.toContain(secret);
}

describe("GitHub X-Hub-Signature-256", () => {
  it("accepts GitHub's documented example signature", () => {
    // From GitHub's "Validating webhook deliveries".
    const body = Buffer.from("Hello, World!");
    const headers = {
      "x-hub-signature-256": "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
    };
    expect(verifyDeliverySignature("github", headers, body, "It's a Secret to Everybody")).toEqual({
      valid: true,
      header: "X-Hub-Signature-256",
    });
  });

  it("accepts an HMAC of the raw body, in either case of hex", () => {
    const hex = hmacHex(SECRET, BODY);
    expect(
      verifyDeliverySignature("github", { "x-hub-signature-256": `sha256=${hex}` }, BODY, SECRET).valid,
    ).toBe(true);
    const upper = { "x-hub-signature-256": `sha256=${hex.toUpperCase()}` };
    expect(verifyDeliverySignature("github", upper, BODY, SECRET).valid).toBe(true);
  });

  it("refuses a signature made with another secret, without echoing either", () => {
    const sent = hmacHex("another-secret", BODY);
    const check = verifyDeliverySignature(
      "github",
      { "x-hub-signature-256": `sha256=${sent}` },
      BODY,
      SECRET,
    );
    expect(failureOf(check)).toBe("mismatch");
    expect(check.valid ? "" : check.message).toMatch(/X-Hub-Signature-256.*another secret/u);
    expectNothingLeaked(check, SECRET, sent);
  });

  it("refuses a tampered body", () => {
    const headers = { "x-hub-signature-256": `sha256=${hmacHex(SECRET, BODY)}` };
    const tampered = Buffer.from(BODY.toString().replace("main", "mainx"));
    expect(failureOf(verifyDeliverySignature("github", headers, tampered, SECRET))).toBe("mismatch");
    // Parsing and printing the JSON again changes the bytes: only the raw body verifies.
    const reprinted = Buffer.from(JSON.stringify(JSON.parse(BODY.toString())));
    expect(failureOf(verifyDeliverySignature("github", headers, reprinted, SECRET))).toBe("mismatch");
  });

  it("says when the header is missing, and what to do", () => {
    const check = verifyDeliverySignature("github", { "x-github-event": "push" }, BODY, SECRET);
    expect(check).toMatchObject({ valid: false, failure: "missing-header", header: "X-Hub-Signature-256" });
    expect(check.valid ? "" : check.message).toMatch(/give the GitHub webhook a secret/u);
  });

  it("refuses malformed values: no prefix, wrong length, not hex, SHA-1", () => {
    const hex = hmacHex(SECRET, BODY);
    const values = [
      hex,
      `sha256=${hex.slice(0, 62)}`,
      `sha256=${hex}00`,
      `sha256=${"z".repeat(64)}`,
      `sha1=${createHmac("sha1", SECRET).update(BODY).digest("hex")}`,
      `sha256=${hex.slice(0, 40)}`,
    ];
    for (const value of values) {
      const check = verifyDeliverySignature("github", { "x-hub-signature-256": value }, BODY, SECRET);
      expect(failureOf(check), value).toBe("malformed");
      expectNothingLeaked(check, SECRET, value);
    }
  });

  it("refuses a header sent twice", () => {
    const hex = hmacHex(SECRET, BODY);
    const headers: WebhookHeaders = { "x-hub-signature-256": [`sha256=${hex}`, `sha256=${hex}`] };
    expect(failureOf(verifyDeliverySignature("github", headers, BODY, SECRET))).toBe("malformed");
  });

  it("refuses every delivery when no secret is configured", () => {
    const headers = { "x-hub-signature-256": `sha256=${hmacHex("", BODY)}` };
    expect(failureOf(verifyDeliverySignature("github", headers, BODY, ""))).toBe("no-secret");
  });
});

describe("Gitea and Forgejo signatures", () => {
  it("accepts X-Gitea-Signature, the bare hex HMAC", () => {
    const headers = { "x-gitea-signature": hmacHex(SECRET, BODY) };
    expect(verifyDeliverySignature("gitea", headers, BODY, SECRET)).toEqual({
      valid: true,
      header: "X-Gitea-Signature",
    });
  });

  it("refuses a Gitea signature with GitHub's prefix, and a wrong one", () => {
    const prefixed = { "x-gitea-signature": `sha256=${hmacHex(SECRET, BODY)}` };
    expect(failureOf(verifyDeliverySignature("gitea", prefixed, BODY, SECRET))).toBe("malformed");
    const wrong = { "x-gitea-signature": hmacHex("other", BODY) };
    expect(failureOf(verifyDeliverySignature("gitea", wrong, BODY, SECRET))).toBe("mismatch");
  });

  it("reads X-Forgejo-Signature first, and Gitea's header when Forgejo's is absent", () => {
    const good = hmacHex(SECRET, BODY);
    const bad = hmacHex("other", BODY);
    const forgejo = verifyDeliverySignature(
      "forgejo",
      { "x-forgejo-signature": good, "x-gitea-signature": bad },
      BODY,
      SECRET,
    );
    expect(forgejo).toEqual({ valid: true, header: "X-Forgejo-Signature" });
    const fallback = verifyDeliverySignature("forgejo", { "x-gitea-signature": good }, BODY, SECRET);
    expect(fallback).toEqual({ valid: true, header: "X-Gitea-Signature" });
    const missing = verifyDeliverySignature("forgejo", {}, BODY, SECRET);
    expect(missing).toMatchObject({ failure: "missing-header", header: "X-Forgejo-Signature" });
  });
});

describe("GitLab X-Gitlab-Token", () => {
  it("accepts the secret itself", () => {
    expect(verifyDeliverySignature("gitlab", { "x-gitlab-token": SECRET }, BODY, SECRET).valid).toBe(true);
  });

  it("refuses another token, of the same or another length, without echoing it", () => {
    for (const token of [`${SECRET.slice(0, -1)}X`, "short", `${SECRET}-and-more`]) {
      const check = verifyDeliverySignature("gitlab", { "x-gitlab-token": token }, BODY, SECRET);
      expect(failureOf(check), token).toBe("mismatch");
      expectNothingLeaked(check, SECRET, token);
    }
  });

  it("says when the token is missing", () => {
    const check = verifyDeliverySignature("gitlab", {}, BODY, SECRET);
    expect(check).toMatchObject({ valid: false, failure: "missing-header", header: "X-Gitlab-Token" });
  });
});
