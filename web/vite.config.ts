// Builds the dashboard into dist/web, which `conveyor up` serves (src/server/http/web-routes.ts).
import { fileURLToPath } from "node:url";
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

const here = fileURLToPath(new URL(".", import.meta.url));

export default defineConfig({
  root: here,
  base: "/",
  plugins: [react()],
  build: {
    outDir: fileURLToPath(new URL("../dist/web", import.meta.url)),
    emptyOutDir: true,
    // The CSP allows scripts from the server only: no inline module preload polyfill.
    modulePreload: { polyfill: false },
    sourcemap: false,
    reportCompressedSize: false,
    chunkSizeWarningLimit: 1000,
  },
  // `vite` (development) forwards the API to a running `conveyor up`.
  server: { proxy: { "/api": process.env.CONVEYOR_URL ?? "http://127.0.0.1:8080" } },
});
