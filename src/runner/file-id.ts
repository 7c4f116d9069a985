/**
 * A UUID-shaped name for a step's files (its script, its environment files), as GitHub's runner
 * names them. The names only need to differ within the job's own temporary folder: made from
 * Math.random, not node:crypto, whose loading alone costs a short `conveyor run` 10 ms or more.
 */
export function fileId(): string {
  const hex = (digits: number): string =>
    Array.from({ length: digits }, () => Math.floor(Math.random() * 16).toString(16)).join("");
  const variant = (8 + Math.floor(Math.random() * 4)).toString(16);
  return `${hex(8)}-${hex(4)}-4${hex(3)}-${variant}${hex(3)}-${hex(12)}`;
}
