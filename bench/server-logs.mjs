// Benchmark (issue 4): log ingest from one job. Target: at least 20 MB/s.
// One step prints LOG_MB (default 200) MB of 100-byte lines, each numbered and with 8 random hex
// digits (awk), so that the log compresses about as well as a real one (gzip -1: about 10 times),
// not the hundreds of times a repeated line would. The figure is the bytes the step printed, all
// acknowledged by the server, divided by the job's time on the server: from its lease (startedAt)
// to its completion (finishedAt), which the server accepts only once every row is stored. Measured
// with a `conveyor runner` process (the usual case: runner and server on their own event loops)
// and with the built-in runner of `conveyor up`, which shares the server's; the target holds for
// both. Afterwards the stored log is checked: its first and last lines, and nothing after them.
// Buildbot has no figure for this in the issue; none is printed.
// Run: npm run build && node bench/server-logs.mjs   (LOG_MB=n, KEEP=1)
// Exits 1 when the target is missed.
import {
  api,
  benchmark,
  completedRun,
  hostedRepository,
  machineNote,
  push,
  startRunner,
  startServer,
  verdict,
} from "./lib/conveyor-server.mjs";

const TARGET_MB_S = 20;
const LOG_MB = Number(process.env.LOG_MB ?? 200);
const FILLER = "ok " + "0123456789".repeat(8).slice(0, 77); // 9 + 1 + 8 + 1 + 80 + newline = 100 bytes
const LINES = (LOG_MB * 1_000_000) / 100;
const MB = 1_000_000;

const workflow = (label) => `on: push
jobs:
  logs:
    runs-on: [self-hosted, ${label}]
    steps:
      - run: awk 'BEGIN { srand(1); for (i = 1; i <= ${LINES}; i++) printf "%09d %08x ${FILLER}\\n", i, rand() * 4294967296 }'
`;

/** The line numbered n, as the step prints it (its random part aside). */
const lineShape = (n) => new RegExp(`^${String(n).padStart(9, "0")} [0-9a-f]{8} ${FILLER}$`);

/** The stored log holds the LINES lines in order on consecutive rows (rows are numbered without gaps). */
async function checkLog(server, jobId) {
  const rowsFrom = async (from, limit) =>
    (await api(server, `/jobs/${jobId}/logs?from=${from}&limit=${limit}`)).rows;
  const isLine = (row, n) => row?.event.type === "log" && lineShape(n).test(row.event.text);
  const first = (await rowsFrom(1, 50)).find((row) => isLine(row, 1));
  if (!first) throw new Error(`job ${jobId}: no log line stored`);
  const [last, after] = await rowsFrom(first.seq + LINES - 1, 2);
  if (!isLine(last, LINES) || (after?.event.type === "log" && after.event.kind === "output"))
    throw new Error(`job ${jobId}: the stored log does not hold ${LINES} lines`);
}

/** The job's time on the server, in seconds; its log checked once the time is taken. */
async function ingest(server, label) {
  const repository = await hostedRepository(server, `logs-${label}`, {
    ".github/workflows/logs.yml": workflow(label),
  });
  const { sha } = push(repository);
  const run = await completedRun(server, repository, sha, { everyMs: 200, ms: 600_000 });
  const [job] = run.jobs;
  if (run.conclusion !== "success") throw new Error(`run ${run.id} ended ${run.conclusion}`);
  await checkLog(server, job.id);
  return (Date.parse(job.finishedAt) - Date.parse(job.startedAt)) / 1000;
}

await benchmark(async () => {
  const results = [];
  // A server for each, so neither measure pays for the other's leftovers (archiving a 200 MB log).
  {
    const server = await startServer(["--runner-capacity", "0"]);
    const runner = await startRunner(server, { labels: ["remote"] });
    results.push({ name: "conveyor runner process", seconds: await ingest(server, "remote") });
    await runner.stop();
    await server.stop();
  }
  {
    const server = await startServer(["--runner-labels", "builtin", "--runner-capacity", "1"]);
    results.push({ name: "conveyor up, built-in runner", seconds: await ingest(server, "builtin") });
    await server.stop();
  }

  console.log(`Log ingest from one job: one step printing ${LOG_MB} MB (${LINES} lines of 100 bytes);`);
  console.log("bytes printed, all acknowledged, over the job's time on the server (lease to completion)");
  for (const { name, seconds } of results) {
    console.log(
      `  ${name.padEnd(30)} ${(LOG_MB / seconds).toFixed(1).padStart(6)} MB/s (${seconds.toFixed(2)} s)`,
    );
  }
  const worst = Math.min(...results.map((r) => LOG_MB / r.seconds));
  const met = worst >= TARGET_MB_S;
  console.log(
    `  target: at least ${TARGET_MB_S} MB/s with either runner: ${worst.toFixed(1)} MB/s: ${verdict(met)}`,
  );
  console.log(`  (${machineNote()}; 1 MB = ${MB} bytes)`);
  return met;
});
