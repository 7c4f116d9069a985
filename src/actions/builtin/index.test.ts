import { describe, expect, it } from "vitest";
import { BUILTIN_ACTIONS, findBuiltinAction } from "./index.js";

describe("built-in action registry", () => {
  it("finds each action by owner, repo and folder, without case", () => {
    expect(findBuiltinAction("actions", "checkout")?.name).toBe("actions/checkout");
    expect(findBuiltinAction("Actions", "Setup-Node", "")?.name).toBe("actions/setup-node");
    expect(findBuiltinAction("actions", "cache")?.name).toBe("actions/cache");
    expect(findBuiltinAction("actions", "cache", "restore")?.name).toBe("actions/cache/restore");
    expect(findBuiltinAction("actions", "cache", "save/")?.name).toBe("actions/cache/save");
  });

  it("finds nothing for other actions or folders", () => {
    expect(findBuiltinAction("actions", "checkout", "sub")).toBeUndefined();
    expect(findBuiltinAction("someone", "checkout")).toBeUndefined();
    expect(findBuiltinAction("actions", "setup-go")).toBeUndefined();
  });

  it("declares the union of the v3 and v4 inputs with their defaults", () => {
    const inputs = (name: string) => BUILTIN_ACTIONS.find((action) => action.name === name)?.inputs ?? {};
    expect(inputs("actions/checkout")).toMatchObject({
      "fetch-depth": { default: "1" },
      "fetch-tags": { default: "false" },
      clean: { default: "true" },
      "sparse-checkout": {},
      "set-safe-directory": { default: "true" },
      submodules: { default: "false" },
    });
    expect(inputs("actions/upload-artifact")).toMatchObject({
      name: { default: "artifact" },
      "if-no-files-found": { default: "warn" },
      "include-hidden-files": { default: "false" },
      overwrite: { default: "false" },
    });
    expect(Object.keys(inputs("actions/setup-node"))).toEqual(
      expect.arrayContaining([
        "node-version",
        "node-version-file",
        "cache",
        "cache-dependency-path",
        "registry-url",
        "always-auth",
      ]),
    );
    expect(Object.keys(inputs("actions/download-artifact"))).toEqual(
      expect.arrayContaining(["name", "path", "pattern", "merge-multiple", "artifact-ids"]),
    );
    expect(new Set(BUILTIN_ACTIONS.map((action) => action.name)).size).toBe(BUILTIN_ACTIONS.length);
  });

  it("runs post steps of the setup and cache actions only after success, as their action.yml say", () => {
    for (const name of ["actions/cache", "actions/setup-node", "actions/setup-python"]) {
      const action = BUILTIN_ACTIONS.find((candidate) => candidate.name === name);
      expect(action?.post).toBeDefined();
      expect(action?.postIf).toBe("success()");
    }
  });
});
