/**
 * The dashboard's client of the REST API (/api/v1). The token lives in sessionStorage only: it
 * ends with the tab, and nothing secret is ever written into the page.
 */

const TOKEN_KEY = "conveyor.token";
const TOKEN_ID_KEY = "conveyor.tokenId";

export interface Repository {
  id: number;
  owner: string;
  name: string;
  fullName: string;
  defaultBranch: string;
  kind: "hosted" | "mirror";
  cloneUrl: string;
  webhooks: boolean;
  createdAt: string;
}

export type Status = "queued" | "in_progress" | "completed";

export interface Run {
  id: number;
  repository: string | null;
  workflow: { path: string; name: string };
  runNumber: number;
  attempt: number;
  event: string;
  ref: string;
  branch: string | null;
  sha: string;
  actor: string;
  title: string;
  status: Status;
  conclusion: string | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}

export interface Step {
  number: number;
  name: string;
  status: "in_progress" | "completed";
  conclusion: string | null;
  startedAt: string | null;
  finishedAt: string | null;
}

export interface Job {
  id: number;
  runId: number;
  attempt: number;
  key: string;
  name: string;
  status: Status;
  conclusion: string | null;
  labels: string[];
  runnerId: number | null;
  reason: string | null;
  waitingReason: string | null;
  kept: boolean;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  steps: Step[];
}

export interface RunDetail extends Run {
  viewedAttempt: number;
  jobs: Job[];
}

export interface GraphJob {
  id: string;
  name: string;
  needs: string[];
  calls: boolean;
}

export interface AnnotationView {
  jobId: number;
  jobName: string;
  seq: number;
  step: number | null;
  level: "error" | "warning" | "notice";
  message: string;
  title: string | null;
  file: string | null;
  line: number | null;
  column: number | null;
}

export interface SummaryView {
  jobId: number;
  jobName: string;
  step: number;
  markdown: string;
}

export interface Artifact {
  id: number;
  name: string;
  size: number;
  digest: string | null;
  mimeType: string;
  attempt: number;
  createdAt: string;
  expiresAt: string;
  archiveDownloadUrl: string;
}

export interface DispatchInput {
  name: string;
  type: string;
  description: string | null;
  required: boolean;
  default: string | number | boolean | null;
  options: string[];
}

export interface WorkflowView {
  path: string;
  name: string;
  dispatch: { inputs: DispatchInput[] } | null;
  errors: number;
}

export interface Runner {
  id: number;
  name: string;
  labels: string[];
  capacity: number;
  os: string;
  arch: string;
  online: boolean;
  lastSeenAt: string;
  jobs: number[];
  createdAt: string;
}

export interface TokenInfo {
  id: number;
  name: string;
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt?: string | null;
}

export interface User {
  id: number;
  login: string;
  admin: boolean;
}

export interface EventRow {
  seq: number;
  event: { type: string; [field: string]: unknown };
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export function storedToken(): string | null {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function forgetToken(): void {
  sessionStorage.removeItem(TOKEN_KEY);
  sessionStorage.removeItem(TOKEN_ID_KEY);
}

/** Listeners told when the server says the token is no longer good (revoked, say). */
const signedOutListeners = new Set<() => void>();
export function onSignedOut(listener: () => void): () => void {
  signedOutListeners.add(listener);
  return () => signedOutListeners.delete(listener);
}

export function authHeaders(): Record<string, string> {
  const token = storedToken();
  return token ? { authorization: `Bearer ${token}` } : {};
}

export async function request<T>(
  path: string,
  init: { method?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<T> {
  const response = await fetch(`/api/v1${path}`, {
    method: init.method ?? (init.body === undefined ? "GET" : "POST"),
    headers: {
      ...authHeaders(),
      ...(init.body === undefined ? {} : { "content-type": "application/json" }),
      ...init.headers,
    },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
  const text = await response.text();
  if (!response.ok) {
    let message = `${response.status} ${response.statusText}`;
    try {
      message = (JSON.parse(text) as { error?: string }).error ?? message;
    } catch {
      // not JSON: keep the status line
    }
    if (response.status === 401 && !init.headers?.authorization) {
      forgetToken();
      for (const listener of signedOutListeners) listener();
    }
    throw new ApiError(response.status, message);
  }
  return (text ? JSON.parse(text) : undefined) as T;
}

/**
 * Signs in with login and password (HTTP basic, once) and keeps a new API token for this tab.
 * The password is not kept anywhere.
 */
export async function signIn(login: string, password: string): Promise<User> {
  const basic = `Basic ${btoa(unescape(encodeURIComponent(`${login}:${password}`)))}`;
  const user = await request<User>("/user", { headers: { authorization: basic } });
  const created = await request<{ id: number; token: string }>("/user/tokens", {
    body: { name: `dashboard sign-in ${new Date().toISOString().slice(0, 16).replace("T", " ")}` },
    headers: { authorization: basic },
  });
  sessionStorage.setItem(TOKEN_KEY, created.token);
  sessionStorage.setItem(TOKEN_ID_KEY, String(created.id));
  return user;
}

/** Signs in with an existing API token. */
export async function signInWithToken(token: string): Promise<User> {
  const user = await request<User>("/user", { headers: { authorization: `Bearer ${token}` } });
  sessionStorage.setItem(TOKEN_KEY, token);
  sessionStorage.removeItem(TOKEN_ID_KEY);
  return user;
}

/** Signs out: the token the sign-in created is revoked on the server. */
export async function signOut(): Promise<void> {
  const tokenId = sessionStorage.getItem(TOKEN_ID_KEY);
  if (tokenId) await request(`/user/tokens/${tokenId}`, { method: "DELETE" }).catch(() => undefined);
  forgetToken();
}

/** Downloads an authenticated URL as a file (a link cannot carry the token). */
export async function download(url: string, fallbackName: string): Promise<void> {
  const response = await fetch(url, { headers: authHeaders() });
  if (!response.ok) throw new ApiError(response.status, `download failed: ${response.status}`);
  const disposition = response.headers.get("content-disposition") ?? "";
  const named = /filename\*=UTF-8''([^;]+)/.exec(disposition)?.[1];
  saveBlob(await response.blob(), named ? decodeURIComponent(named) : fallbackName);
}

export function saveBlob(blob: Blob, name: string): void {
  const link = document.createElement("a");
  link.href = URL.createObjectURL(blob);
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
}

export function runsQuery(filter: Readonly<Record<string, string | number | undefined>>): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(filter)) {
    if (value !== undefined && value !== "") params.set(key, String(value));
  }
  const text = params.toString();
  return text ? `?${text}` : "";
}
