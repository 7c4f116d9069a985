/** Reading credentials off requests: `Authorization: Bearer|token <t>`, or HTTP basic (git). */

export type PresentedCredential =
  | { readonly kind: "bearer"; readonly token: string }
  | { readonly kind: "basic"; readonly user: string; readonly password: string };

export function credentialOf(authorization: string | undefined): PresentedCredential | undefined {
  if (!authorization) return undefined;
  const space = authorization.indexOf(" ");
  if (space < 0) return undefined;
  const scheme = authorization.slice(0, space).toLowerCase();
  const value = authorization.slice(space + 1).trim();
  if (scheme === "bearer" || scheme === "token") return value ? { kind: "bearer", token: value } : undefined;
  if (scheme !== "basic") return undefined;
  const decoded = Buffer.from(value, "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  if (colon < 0) return undefined;
  return { kind: "basic", user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/** The secret a credential carries: the token, or basic auth's password (a token used as password). */
export function secretOf(credential: PresentedCredential): string {
  return credential.kind === "bearer" ? credential.token : credential.password;
}
