/**
 * The events that start GitHub Actions workflows, as GitHub documents them ("Events that trigger
 * workflows"). A workflow may name any key under `on:` (GitHub's parser accepts them), but only these
 * ever start one: `conveyor run` uses the list to tell a typo from an event no workflow here uses.
 */
export const GITHUB_EVENTS: readonly string[] = [
  "branch_protection_rule",
  "check_run",
  "check_suite",
  "create",
  "delete",
  "deployment",
  "deployment_status",
  "discussion",
  "discussion_comment",
  "fork",
  "gollum",
  "issue_comment",
  "issues",
  "label",
  "merge_group",
  "milestone",
  "page_build",
  "project",
  "project_card",
  "project_column",
  "public",
  "pull_request",
  "pull_request_review",
  "pull_request_review_comment",
  "pull_request_target",
  "push",
  "registry_package",
  "release",
  "repository_dispatch",
  "schedule",
  "status",
  "watch",
  "workflow_call",
  "workflow_dispatch",
  "workflow_run",
];

/** The event `name` was most likely meant to be, when it is not one: a letter or two off, or `-` for `_`. */
export function likelyEvent(name: string): string | undefined {
  const wanted = name.toLowerCase().replaceAll("-", "_");
  let best: { event: string; distance: number } | undefined;
  for (const event of GITHUB_EVENTS) {
    const distance = editDistance(wanted, event);
    if (distance <= Math.min(2, Math.floor(event.length / 3)) && (!best || distance < best.distance)) {
      best = { event, distance };
    }
  }
  return best?.event;
}

/** Edits from `a` to `b`: insertions, deletions, substitutions and swaps of neighbours, one each. */
function editDistance(a: string, b: string): number {
  // Rows of the table, the last two kept: a swap looks two rows back.
  let before: number[] = [];
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      let best = Math.min(
        (previous[j] ?? 0) + 1,
        (current[j - 1] ?? 0) + 1,
        (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        best = Math.min(best, (before[j - 2] ?? 0) + 1);
      }
      current.push(best);
    }
    before = previous;
    previous = current;
  }
  return previous[b.length] ?? 0;
}
