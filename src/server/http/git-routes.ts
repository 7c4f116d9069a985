/**
 * Git hosting over smart HTTP: clone and fetch with an API token (or a running job's token), push
 * with the token of the repository's owner (or an administrator). Each accepted ref update starts
 * the workflows its push triggers, before `git push` returns.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { User } from "../../store/accounts.js";
import type { Repository } from "../../store/repositories.js";
import { credentialOf, secretOf } from "../auth/credentials-header.js";
import { isJobToken } from "../auth/job-tokens.js";
import { allows } from "../auth/job-permissions.js";
import { BASIC_CHALLENGE } from "../git/basic-auth.js";
import { parseGitPath } from "../git/repository-names.js";
import type { GitRequestPath } from "../git/repository-names.js";
import { serveSmartHttp } from "../git/smart-http.js";
import type { RefUpdate } from "../git/ref-updates.js";
import type { ServerContext } from "../server-context.js";
import { startPushRuns } from "../runs/push-runs.js";

const GIT_CONTENT_TYPES = ["application/x-git-upload-pack-request", "application/x-git-receive-pack-request"];

type Access =
  { kind: "user"; user: User } | { kind: "job" } | { kind: "refused"; status: number; message: string };

export function registerGitRoutes(app: FastifyInstance, context: ServerContext): void {
  // The body is streamed to git as it arrives, never parsed or buffered here.
  app.addContentTypeParser(GIT_CONTENT_TYPES, (_request, _payload, done) => done(null, undefined));

  const handle = async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
    const path = parseGitPath(request.url);
    if (!path) return reply.code(404).type("text/plain").send("Not a git repository path.\n");
    const repository = await context.store.repositories.byName(path.owner, path.name);
    const repositoryPath = repository ? context.repositoryPathOf(repository) : undefined;
    if (!repository || !repositoryPath) {
      return reply.code(404).type("text/plain").send(`Repository ${path.owner}/${path.name} not found.\n`);
    }
    const access = await accessFor(context, request, path, repository);
    if (access.kind === "refused") {
      if (access.status === 401) reply.header("www-authenticate", BASIC_CHALLENGE);
      return reply
        .code(access.status)
        .type("text/plain")
        .send(access.message + "\n");
    }
    reply.hijack();
    const pusher = access.kind === "user" ? access.user : undefined;
    const outcome = await serveSmartHttp(request.raw, reply.raw, {
      repositoryPath,
      gitPath: path.gitPath,
      query: path.query,
      remoteUser: pusher?.login ?? "job",
      onRefsUpdated: pusher
        ? (updates: readonly RefUpdate[]) =>
            startPushRuns(context, repository, pusher, updates).then(() => undefined)
        : undefined,
    });
    if (outcome.problem)
      request.log.warn(`git ${path.gitPath} for ${repository.fullName}: ${outcome.problem}`);
    return reply;
  };

  app.get("/:owner/:name/info/refs", handle);
  app.post("/:owner/:name/git-upload-pack", handle);
  app.post("/:owner/:name/git-receive-pack", handle);
}

/**
 * Who may do what: pushing needs the owner's (or an administrator's) API token; fetching needs any
 * user's token, or the token of a job running for this repository.
 */
async function accessFor(
  context: ServerContext,
  request: FastifyRequest,
  path: GitRequestPath,
  repository: Repository,
): Promise<Access> {
  const credential = credentialOf(request.headers.authorization);
  if (!credential)
    return {
      kind: "refused",
      status: 401,
      message: "Authentication required: use an API token as the password.",
    };
  const secret = secretOf(credential);
  const pushing = path.service === "git-receive-pack";
  if (isJobToken(secret)) {
    const claims = context.jobTokens.verify(secret);
    const job = claims ? await context.store.jobs.byId(claims.jobId) : undefined;
    if (!claims || !job || job.status !== "in_progress" || claims.repositoryId !== repository.id) {
      return {
        kind: "refused",
        status: 401,
        message: "This job token is not valid for this repository (or its job has ended).",
      };
    }
    if (pushing) return { kind: "refused", status: 403, message: "A job token cannot push." };
    if (!allows(claims.permissions.contents, "read")) {
      return {
        kind: "refused",
        status: 403,
        message:
          "This job's permissions give `contents: none`: add `permissions: { contents: read }` to the job or workflow to check out.",
      };
    }
    return { kind: "job" };
  }
  const user = await context.store.accounts.userForToken(secret);
  if (!user)
    return {
      kind: "refused",
      status: 401,
      message: "Invalid or revoked token: create one with `conveyor token create`.",
    };
  if (pushing && repository.kind === "mirror") {
    return {
      kind: "refused",
      status: 403,
      message: `${repository.fullName} mirrors ${repository.remoteUrl}: push there instead.`,
    };
  }
  if (pushing && user.login.toLowerCase() !== repository.owner.toLowerCase() && !user.isAdmin) {
    return { kind: "refused", status: 403, message: `${user.login} may not push to ${repository.fullName}.` };
  }
  return { kind: "user", user };
}
