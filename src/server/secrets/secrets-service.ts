/**
 * Secrets and variables as the API, the CLI and runs use them: names checked, values encrypted
 * under the master key, every change in the audit log (names and scopes, never values), and the
 * values a job gets resolved only when a runner leases it.
 */
import { randomBytes } from "node:crypto";
import { error, failed, ok } from "../../diagnostic.js";
import type { Result } from "../../diagnostic.js";
import type { JsonObject } from "../../json.js";
import type { NamedEntry, StoredVariable } from "../../store/secrets.js";
import type { ServerStore } from "../../store/server-store.js";
import { decryptSecret, encryptSecret } from "./secret-cipher.js";
import type { RunSecretRefs } from "./job-secrets.js";
import {
  ORGANIZATION,
  describeScope,
  mergeByPrecedence,
  normalizeName,
  scopeKey,
  valueProblem,
} from "./secret-scope.js";
import type { ScopeKey, SecretScope } from "./secret-scope.js";

export type EntryKind = "secret" | "variable";

export interface ChangeResult {
  readonly name: string;
  readonly created: boolean;
}

export class SecretsService {
  constructor(
    private readonly store: ServerStore,
    private readonly masterKey: Buffer,
    /** Told (without the value) when a stored secret cannot be decrypted: tampered, or another key. */
    private readonly warn: (message: string) => void = () => undefined,
  ) {}

  async set(
    kind: EntryKind,
    scope: SecretScope,
    rawName: string,
    value: string,
    actor: string,
  ): Promise<Result<ChangeResult>> {
    const name = normalizeName(rawName, `the ${kind} name`);
    if (!name.ok) return name;
    const problem = valueProblem(value, `the ${kind}'s value`);
    if (problem) return failed([error(problem)]);
    const key = scopeKey(scope);
    const { created } =
      kind === "secret"
        ? await this.store.secrets.put(key, name.value, encryptSecret(this.masterKey, key, name.value, value))
        : await this.store.variables.put(key, name.value, value);
    await this.store.audit.record({
      actor,
      action: `${kind}.${created ? "create" : "update"}`,
      target: `${describeScope(scope)}/${kind}:${name.value}`,
      details: { scope: describeScope(scope), name: name.value },
    });
    return ok({ name: name.value, created });
  }

  async remove(
    kind: EntryKind,
    scope: SecretScope,
    rawName: string,
    actor: string,
  ): Promise<Result<ChangeResult>> {
    const name = normalizeName(rawName, `the ${kind} name`);
    if (!name.ok) return name;
    const key = scopeKey(scope);
    const removed =
      kind === "secret"
        ? await this.store.secrets.remove(key, name.value)
        : await this.store.variables.remove(key, name.value);
    if (!removed) {
      return failed([
        error(
          `there is no ${kind} ${name.value} in ${describeScope(scope)}: list them with \`conveyor ${kind === "secret" ? "secret" : "var"} list\`.`,
        ),
      ]);
    }
    await this.store.audit.record({
      actor,
      action: `${kind}.delete`,
      target: `${describeScope(scope)}/${kind}:${name.value}`,
      details: { scope: describeScope(scope), name: name.value },
    });
    return ok({ name: name.value, created: false });
  }

  listSecrets(scope: SecretScope): Promise<NamedEntry[]> {
    return this.store.secrets.list(scopeKey(scope));
  }

  listVariables(scope: SecretScope): Promise<StoredVariable[]> {
    return this.store.variables.list(scopeKey(scope));
  }

  /** The `vars` context of a run: organisation variables under the repository's. */
  async runVariables(repositoryId: number): Promise<JsonObject> {
    const layers = await Promise.all([
      this.variableMap(scopeKey(ORGANIZATION)),
      this.variableMap({ repositoryId, environment: "" }),
    ]);
    return mergeByPrecedence(layers);
  }

  /** An environment's variables (they go over the run's for a job that deploys there). */
  environmentVariables(repositoryId: number, environment: string): Promise<Record<string, string>> {
    return this.variableMap({ repositoryId, environment });
  }

  /** What a run stores about its secrets: names only (none when withheld) and a fresh nonce. */
  async runSecretRefs(repositoryId: number, withheld: boolean): Promise<RunSecretRefs> {
    const nonce = randomBytes(8).toString("hex");
    if (withheld) return { nonce, names: [] };
    const [organization, repository] = await Promise.all([
      this.store.secrets.list(scopeKey(ORGANIZATION)),
      this.store.secrets.list({ repositoryId, environment: "" }),
    ]);
    const names = new Set([...organization, ...repository].map((entry) => entry.name));
    return { nonce, names: [...names].sort() };
  }

  /** Organisation and repository secrets, decrypted, the repository's winning. */
  async runSecretValues(repositoryId: number): Promise<Record<string, string>> {
    const layers = await Promise.all([
      this.decryptScope(scopeKey(ORGANIZATION)),
      this.decryptScope({ repositoryId, environment: "" }),
    ]);
    return mergeByPrecedence(layers);
  }

  environmentSecretValues(repositoryId: number, environment: string): Promise<Record<string, string>> {
    return this.decryptScope({ repositoryId, environment });
  }

  private async variableMap(scope: ScopeKey): Promise<Record<string, string>> {
    const map: Record<string, string> = {};
    for (const entry of await this.store.variables.list(scope)) map[entry.name] = entry.value;
    return map;
  }

  private async decryptScope(scope: ScopeKey): Promise<Record<string, string>> {
    const values: Record<string, string> = {};
    for (const entry of await this.store.secrets.ciphertexts(scope)) {
      const value = decryptSecret(this.masterKey, scope, entry.name, entry.ciphertext);
      if (value === undefined) {
        this.warn(
          `the secret ${entry.name} (repository ${scope.repositoryId}, environment '${scope.environment}') cannot be decrypted: it was changed in the database or made under another master key; set it again.`,
        );
        continue;
      }
      values[entry.name] = value;
    }
    return values;
  }
}
