// The build: copies the sources into dist/ with a banner, then checks the result loads.
import { mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";

const pkg = JSON.parse(await readFile("package.json", "utf8"));
await rm("dist", { recursive: true, force: true });
await mkdir("dist");
for (const name of await readdir("src")) {
  const source = await readFile(join("src", name), "utf8");
  await writeFile(join("dist", name), `// ${pkg.name} ${pkg.version}\n${source}`);
}
const built = await import(new URL("../dist/index.js", import.meta.url));
if (built.slugify("Built OK") !== "built-ok") throw new Error("dist/index.js does not work");
console.log(`Built ${pkg.name} ${pkg.version} into dist/`);
