/**
 * The folder of the bundle this code runs from (dist/, where the build also puts the dashboard and
 * the native process starter), or undefined when it runs from its sources (the tests). Vitest gives
 * every .ts module a __filename and __dirname too, so the file's extension tells them apart.
 */
export function bundleFolder(): string | undefined {
  return typeof __filename === "string" && __filename.endsWith(".cjs") ? __dirname : undefined;
}
