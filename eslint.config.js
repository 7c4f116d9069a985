import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  {
    // Conformance cases are workflows and actions as users write them, some malformed on purpose.
    ignores: [
      "dist/",
      "node_modules/",
      "coverage/",
      "bench/out/",
      "test-output/",
      ".conveyor/",
      "test/conformance/cases/",
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.strict,
  {
    // The launcher is plain CommonJS: it must load before anything else, without a build step.
    files: ["bin/*.cjs"],
    languageOptions: {
      sourceType: "commonjs",
      globals: { require: "readonly", __dirname: "readonly", module: "writable" },
    },
    rules: { "@typescript-eslint/no-require-imports": "off" },
  },
  {
    languageOptions: {
      globals: {
        process: "readonly",
        console: "readonly",
        URL: "readonly",
        setTimeout: "readonly",
        clearTimeout: "readonly",
      },
    },
    rules: {
      "@typescript-eslint/no-explicit-any": "error",
      "@typescript-eslint/consistent-type-imports": "error",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
    },
  },
);
