import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

/** Every YAML file under `dir`, node_modules and run folders left out. */
function yamlFilesIn(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (name === "node_modules" || name.startsWith(".conveyor")) return [];
    if (statSync(path).isDirectory()) return yamlFilesIn(path);
    return /\.ya?ml$/.test(name) ? [path] : [];
  });
}

/** Every workflow-like YAML file of the repository's examples and tests: a corpus for the readers' tests. */
export function repositoryYamlFiles(): string[] {
  return ["examples", "test"].flatMap((dir) => yamlFilesIn(join(ROOT, dir)));
}
