/**
 * Which runners may take a job: the labels its `runs-on` asks for, after the label map turns
 * GitHub's hosted runner names into labels of this installation's runners.
 */
import type { JsonValue } from "../../json.js";

/**
 * GitHub-hosted runner names mapped to the labels every runner of that OS carries, so workflows
 * written for GitHub run unchanged on runners here. Settings can change or extend it.
 */
export const DEFAULT_LABEL_MAP: Readonly<Record<string, string>> = {
  "ubuntu-latest": "linux",
  "ubuntu-24.04": "linux",
  "ubuntu-22.04": "linux",
  "ubuntu-20.04": "linux",
  "ubuntu-24.04-arm": "linux",
  "ubuntu-22.04-arm": "linux",
  "macos-latest": "macos",
  "macos-15": "macos",
  "macos-14": "macos",
  "macos-13": "macos",
  "windows-latest": "windows",
  "windows-2025": "windows",
  "windows-2022": "windows",
};

/** The labels every runner has without asking: `self-hosted`, its OS and its architecture, as on GitHub. */
export function automaticLabels(platform: string, arch: string): string[] {
  const os = platform === "darwin" ? "macos" : platform === "win32" ? "windows" : platform;
  return ["self-hosted", os, arch];
}

/** A runner's labels: its own and the automatic ones, lower-cased, without repeats. */
export function runnerLabels(own: readonly string[], platform: string, arch: string): string[] {
  return [...new Set([...automaticLabels(platform, arch), ...own].map((l) => l.trim().toLowerCase()))].filter(
    (l) => l.length > 0,
  );
}

/**
 * The labels a job needs from its evaluated `runs-on`: a label, a list of labels (a runner must
 * have all), or `{ group, labels }` (groups are not modelled: the labels count). Unknown shapes
 * give an error message for the job.
 */
export function requiredLabels(
  runsOn: JsonValue,
  labelMap: Readonly<Record<string, string>>,
): { ok: true; labels: string[] } | { ok: false; message: string } {
  const raw =
    typeof runsOn === "string"
      ? [runsOn]
      : Array.isArray(runsOn)
        ? runsOn
        : runsOn !== null && typeof runsOn === "object"
          ? toList(runsOn.labels)
          : undefined;
  if (!raw || raw.some((l) => typeof l !== "string") || raw.length === 0) {
    return {
      ok: false,
      message: `runs-on must be a label, a list of labels, or { group, labels }; it evaluated to ${JSON.stringify(runsOn)}.`,
    };
  }
  const mapped = (raw as string[]).map((l) => labelMap[l.toLowerCase()] ?? l.toLowerCase());
  return { ok: true, labels: [...new Set(mapped)] };
}

function toList(value: JsonValue | undefined): JsonValue[] | undefined {
  if (value === undefined) return undefined;
  return Array.isArray(value) ? value : [value];
}
