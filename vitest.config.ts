import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts", "src/**/*.test.ts"],
    // The workflow parser imports its JSON schemas without an import attribute, which Node 20
    // refuses; inlining lets Vite transform those imports, as the esbuild bundle does.
    server: { deps: { inline: ["@actions/workflow-parser"] } },
    testTimeout: 20_000,
  },
});
