/**
 * HTTP basic authentication as git speaks it: git sends no credentials until a 401 carrying a
 * Basic challenge asks for them, then the user name and (as Conveyor uses it) a token as password.
 * Pure. The header is read by the server's one credential reader; this names the git side of it.
 */
import { credentialOf } from "../auth/credentials-header.js";

/** The `WWW-Authenticate` value of a 401 that makes git ask for a user name and a token. */
export const BASIC_CHALLENGE = 'Basic realm="Conveyor"';

export interface BasicCredentials {
  readonly user: string;
  readonly password: string;
}

/** `Authorization: Basic <base64 user:password>` read; undefined when absent or another scheme. */
export function parseBasicAuthorization(header: string | undefined): BasicCredentials | undefined {
  const credential = credentialOf(header);
  return credential?.kind === "basic" ? { user: credential.user, password: credential.password } : undefined;
}
