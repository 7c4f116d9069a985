import { readFileSync } from "node:fs";
import { defineConfig } from "vitest/config";

export default defineConfig({
  plugins: [
    {
      // The parser ships source maps that point at sources it does not ship; loading its
      // files without the map comment keeps test output free of one warning per file.
      name: "drop-workflow-parser-source-maps",
      enforce: "pre",
      load(id) {
        if (!id.includes("/@actions/workflow-parser/dist/") || !id.endsWith(".js")) return null;
        const code = readFileSync(id, "utf8").replace(/^\/\/# sourceMappingURL=.*$/m, "");
        return { code, map: null };
      },
    },
  ],
  test: {
    include: ["test/**/*.test.ts", "src/**/*.test.ts"],
    // The workflow parser imports its JSON schemas without an import attribute, which Node 20
    // refuses; inlining lets Vite transform those imports, as the esbuild bundle does.
    server: { deps: { inline: ["@actions/workflow-parser"] } },
    testTimeout: 20_000,
    // One temporary folder per run, removed at its end (test/temporary-root.ts).
    globalSetup: ["test/temporary-root.ts"],
  },
});
