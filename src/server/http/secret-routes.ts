/**
 * Secrets and variables in the REST API (described in openapi.ts), at GitHub's three scopes:
 *   /secrets, /variables                                          the organisation's (administrators)
 *   /repos/:owner/:name/secrets, .../variables                    a repository's (its owner or an administrator)
 *   /repos/:owner/:name/environments/:env/secrets, .../variables  an environment's
 * Each with GET (list), PUT /:secret { value } (create or replace), DELETE /:secret. Secret
 * listings carry names and dates only: no answer ever holds a secret's value.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { User } from "../../store/accounts.js";
import { formatDiagnostic } from "../../diagnostic.js";
import type { NamedEntry } from "../../store/secrets.js";
import { ORGANIZATION, describeScope, environmentNameProblem } from "../secrets/secret-scope.js";
import type { SecretScope } from "../secrets/secret-scope.js";
import type { EntryKind } from "../secrets/secrets-service.js";
import type { ServerContext } from "../server-context.js";
import { requireUser } from "./authenticate.js";
import { checkBody } from "./body-checks.js";
import { sendError } from "./errors.js";

const API = "/api/v1";

type ScopeParams = { owner?: string; name?: string; env?: string };
type EntryParams = ScopeParams & { entry: string };

/** The three scope prefixes, each under which `secrets` and `variables` live. */
const SCOPE_PREFIXES = ["", "/repos/:owner/:name", "/repos/:owner/:name/environments/:env"] as const;

const COLLECTIONS: readonly { readonly kind: EntryKind; readonly segment: string }[] = [
  { kind: "secret", segment: "secrets" },
  { kind: "variable", segment: "variables" },
];

export function registerSecretRoutes(app: FastifyInstance, context: ServerContext): void {
  const { store, secrets } = context;

  /** The scope in the path, if it exists and `user` may manage it; answers the request otherwise. */
  const scopeOf = async (
    params: ScopeParams,
    user: User,
    reply: FastifyReply,
  ): Promise<SecretScope | undefined> => {
    if (params.owner === undefined || params.name === undefined) {
      if (!user.isAdmin) {
        sendError(reply, 403, "only an administrator can manage organisation secrets and variables.");
        return undefined;
      }
      return ORGANIZATION;
    }
    const repository = await store.repositories.byName(params.owner, params.name);
    if (!repository) {
      sendError(
        reply,
        404,
        `no repository ${params.owner}/${params.name}: create it with \`conveyor repo create\`.`,
      );
      return undefined;
    }
    if (!user.isAdmin && user.login.toLowerCase() !== repository.owner.toLowerCase()) {
      sendError(
        reply,
        403,
        `only ${repository.owner} or an administrator can manage the secrets and variables of ${repository.fullName}.`,
      );
      return undefined;
    }
    if (params.env === undefined) {
      return { kind: "repository", repositoryId: repository.id, repository: repository.fullName };
    }
    const problem = environmentNameProblem(params.env, "the environment name");
    if (problem) {
      sendError(reply, 400, problem);
      return undefined;
    }
    return {
      kind: "environment",
      repositoryId: repository.id,
      repository: repository.fullName,
      environment: params.env,
    };
  };

  const withUser = <P>(
    handler: (request: FastifyRequest<{ Params: P }>, reply: FastifyReply, user: User) => Promise<unknown>,
  ) => {
    return async (request: FastifyRequest<{ Params: P }>, reply: FastifyReply) => {
      const user = await requireUser(context, request, reply);
      if (!user) return reply;
      return handler(request, reply, user);
    };
  };

  for (const prefix of SCOPE_PREFIXES) {
    for (const { kind, segment } of COLLECTIONS) {
      const collection = `${API}${prefix}/${segment}`;

      app.get(
        collection,
        withUser<ScopeParams>(async (request, reply, user) => {
          const scope = await scopeOf(request.params, user, reply);
          if (!scope) return reply;
          if (kind === "secret") {
            const listed = await secrets.listSecrets(scope);
            return { scope: describeScope(scope), secrets: listed.map(secretView) };
          }
          const listed = await secrets.listVariables(scope);
          return {
            scope: describeScope(scope),
            variables: listed.map((v) => ({ ...secretView(v), value: v.value })),
          };
        }),
      );

      if (kind === "variable") {
        app.get(
          `${collection}/:entry`,
          withUser<EntryParams>(async (request, reply, user) => {
            const scope = await scopeOf(request.params, user, reply);
            if (!scope) return reply;
            const wanted = request.params.entry.toUpperCase();
            const found = (await secrets.listVariables(scope)).find((v) => v.name === wanted);
            if (!found)
              return sendError(reply, 404, `there is no variable ${wanted} in ${describeScope(scope)}.`);
            return { ...secretView(found), value: found.value };
          }),
        );
      }

      app.put(
        `${collection}/:entry`,
        withUser<EntryParams>(async (request, reply, user) => {
          const scope = await scopeOf(request.params, user, reply);
          if (!scope) return reply;
          const body = checkBody<{ value: string }>(request.body, { value: "string" });
          if (!body.ok) return sendError(reply, 400, body.message);
          const result = await secrets.set(kind, scope, request.params.entry, body.value.value, user.login);
          if (!result.ok) return sendError(reply, 400, result.errors.map(formatDiagnostic).join(" "));
          return reply
            .code(result.value.created ? 201 : 200)
            .send({ name: result.value.name, scope: describeScope(scope), created: result.value.created });
        }),
      );

      app.delete(
        `${collection}/:entry`,
        withUser<EntryParams>(async (request, reply, user) => {
          const scope = await scopeOf(request.params, user, reply);
          if (!scope) return reply;
          const result = await secrets.remove(kind, scope, request.params.entry, user.login);
          if (!result.ok) {
            const message = result.errors.map(formatDiagnostic).join(" ");
            return sendError(reply, message.startsWith("there is no") ? 404 : 400, message);
          }
          return reply.code(204).send();
        }),
      );
    }
  }
}

function secretView(entry: NamedEntry): { name: string; createdAt: string; updatedAt: string } {
  return { name: entry.name, createdAt: entry.createdAt, updatedAt: entry.updatedAt };
}
