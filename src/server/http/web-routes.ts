/**
 * Serves the web dashboard (web/, built into dist/web): hashed assets cached for a year, index.html
 * never cached, and index.html for the dashboard's own paths so a reload or a shared link opens the
 * right page. Paths of the API, git, the runner protocol and the artifact and cache services are
 * never answered with the page: an unknown one there gets the usual JSON 404.
 */
import { readFile } from "node:fs/promises";
import { extname, join, normalize, sep } from "node:path";
import type { FastifyInstance, FastifyReply } from "fastify";
import { bundleFolder } from "../../bundle-location.js";
import { sendError } from "./errors.js";

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".map": "application/json; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".woff2": "font/woff2",
  ".txt": "text/plain; charset=utf-8",
};

/** Paths that belong to other services: never the dashboard's page. */
const NOT_PAGES = [
  /^\/api\//,
  /^\/_apis\//,
  /^\/twirp\//,
  /^\/_blobs\//,
  /\.git(\/|$)/,
  // git's smart-HTTP paths without `.git`, and encoded or dotted traversal: never a page.
  /\/info\/refs$/,
  /\/git-(upload|receive)-pack$/,
  /%2f|%5c|(^|\/)\.\.?(\/|$)/i,
];

/**
 * Scripts only from this server (no inline script, no eval): text from logs, names and summaries
 * that got past escaping still could not run. Styles inline are allowed for layout positions.
 */
export const DASHBOARD_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join("; ");

/** Where the built dashboard is: beside the bundle (dist/web), else dist/web under the working directory (tests). */
export function defaultWebRoot(): string {
  if (process.env.CONVEYOR_WEB_ROOT) return process.env.CONVEYOR_WEB_ROOT;
  return join(bundleFolder() ?? join(process.cwd(), "dist"), "web");
}

export function isDashboardPath(path: string): boolean {
  return !NOT_PAGES.some((pattern) => pattern.test(path));
}

export function registerWebRoutes(app: FastifyInstance, webRoot: string = defaultWebRoot()): void {
  const sendIndex = async (reply: FastifyReply) => {
    const page = await readFile(join(webRoot, "index.html")).catch(() => undefined);
    if (!page) {
      return reply
        .code(503)
        .type("text/plain; charset=utf-8")
        .send(
          `The dashboard is not built (no ${join(webRoot, "index.html")}): run \`npm run build\`. The API is at /api/v1.`,
        );
    }
    return reply
      .type(CONTENT_TYPES[".html"] as string)
      .header("cache-control", "no-cache")
      .header("content-security-policy", DASHBOARD_CSP)
      .header("x-content-type-options", "nosniff")
      .header("referrer-policy", "same-origin")
      .send(page);
  };

  app.get("/", async (_request, reply) => sendIndex(reply));

  app.get<{ Params: { "*": string } }>("/assets/*", async (request, reply) => {
    const file = normalize(join(webRoot, "assets", request.params["*"]));
    if (!file.startsWith(join(webRoot, "assets") + sep)) return sendError(reply, 404, "no such file.");
    const body = await readFile(file).catch(() => undefined);
    if (!body) return sendError(reply, 404, `no dashboard asset ${request.params["*"]}.`);
    return (
      reply
        .type(CONTENT_TYPES[extname(file)] ?? "application/octet-stream")
        .header("x-content-type-options", "nosniff")
        // Vite names assets by their content: a new build means new names.
        .header("cache-control", "public, max-age=31536000, immutable")
        .send(body)
    );
  });

  app.get<{ Params: { "*": string } }>("/*", async (request, reply) => {
    const path = request.url.split("?")[0] ?? "/";
    if (!isDashboardPath(path)) return sendError(reply, 404, `no route GET ${path}.`);
    // Files at the top of the build (favicon.svg, robots.txt): served as they are.
    const top = /^\/([\w.-]+\.(svg|png|ico|txt))$/.exec(path);
    if (top) {
      const body = await readFile(join(webRoot, top[1] as string)).catch(() => undefined);
      if (body) {
        return reply
          .type(CONTENT_TYPES[extname(path)] ?? "application/octet-stream")
          .header("cache-control", "public, max-age=3600")
          .send(body);
      }
    }
    return sendIndex(reply);
  });
}
