/** Small pure formatters: durations, times, sizes. */

export function duration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms) || ms < 0) return "";
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const seconds = Math.round(ms / 1000);
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m ${seconds % 60}s`;
  return `${Math.floor(minutes / 60)}h ${minutes % 60}m`;
}

export function between(start: string | null, end: string | null, now = Date.now()): string {
  if (!start) return "";
  return duration((end ? Date.parse(end) : now) - Date.parse(start));
}

export function ago(time: string | null, now = Date.now()): string {
  if (!time) return "";
  const seconds = Math.round((now - Date.parse(time)) / 1000);
  if (seconds < 5) return "just now";
  if (seconds < 60) return `${seconds}s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m ago`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)}h ago`;
  return new Date(time).toLocaleDateString();
}

export function size(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

/** One word for a run's or job's state: its conclusion once completed, else its status. */
export function stateOf(item: { status: string; conclusion: string | null }): string {
  return item.status === "completed" ? (item.conclusion ?? "completed") : item.status;
}

export function shortSha(sha: string): string {
  return sha.slice(0, 7);
}
