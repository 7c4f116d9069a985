/**
 * The rules for artifact names and the paths of files in an artifact: upload-artifact's (the
 * characters that break some file systems), plus `..` and control characters. The built-in upload
 * action checks them before uploading; the server's artifact service checks names again.
 */

/** Characters upload-artifact refuses in names (they break some file systems), with their names. */
const INVALID_NAME_CHARACTERS: readonly (readonly [string, string])[] = [
  ['"', 'double quote "'],
  [":", "colon :"],
  ["<", "less than <"],
  [">", "greater than >"],
  ["|", "vertical bar |"],
  ["*", "asterisk *"],
  ["?", "question mark ?"],
  ["\r", "carriage return \\r"],
  ["\n", "line feed \\n"],
  ["\\", "backslash \\"],
  ["/", "forward slash /"],
];

/** Why `name` cannot be an artifact name, or undefined. GitHub's rules, plus `..` and control characters. */
export function artifactNameProblem(name: string): string | undefined {
  if (name === "") return "The artifact name is empty. Give the step a `name:`.";
  for (const [character, description] of INVALID_NAME_CHARACTERS) {
    if (name.includes(character)) {
      return (
        `The artifact name is not valid: ${JSON.stringify(name)}. It contains a ${description}. ` +
        `Names may not contain ${INVALID_NAME_CHARACTERS.map(([, d]) => d).join(", ")}.`
      );
    }
  }
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(name)) {
    return `The artifact name is not valid: ${JSON.stringify(name)}. It contains a control character.`;
  }
  if (name.includes("..") || name === ".") {
    return `The artifact name is not valid: ${JSON.stringify(name)}. Names may not be '.' or contain '..'.`;
  }
  return undefined;
}

/** Why a file's path inside the artifact is refused (the same characters, `/` allowed), or undefined. */
export function artifactFilePathProblem(path: string): string | undefined {
  for (const [character, description] of INVALID_NAME_CHARACTERS) {
    if (character === "/" || character === "\\") continue;
    if (path.includes(character)) {
      return `The path of a file in the artifact is not valid: ${JSON.stringify(path)}. It contains a ${description}. Rename the file or leave it out with a '!' pattern.`;
    }
  }
  return undefined;
}
