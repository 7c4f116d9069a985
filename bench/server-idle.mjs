// Benchmark (issue 4): an idle runner makes at most one request per 25 s.
// A `conveyor runner` with nothing to do talks to `conveyor up` through a small counting HTTP
// proxy in this process, so every request it sends is seen on the wire (a count kept by the
// server would miss requests it failed to log). The window opens at the runner's first poll and
// lasts IDLE_SECONDS (default 60). Met when no two requests are less than 25 s apart, which is
// "at most one request per 25 s".
// Run: npm run build && node bench/server-idle.mjs   (IDLE_SECONDS=n, KEEP=1)
// Exits 1 when the target is missed.
import { request as httpRequest, createServer } from "node:http";
import { performance } from "node:perf_hooks";
import { benchmark, machineNote, sleep, startRunner, startServer, verdict } from "./lib/conveyor-server.mjs";

const TARGET_GAP_S = 25;
const WINDOW_S = Number(process.env.IDLE_SECONDS ?? 60);

/** Forwards every request to `target` unchanged and records when it arrived, and its path. */
async function countingProxy(target) {
  const seen = [];
  const upstream = new URL(target);
  const proxy = createServer((incoming, outgoing) => {
    seen.push({ at: performance.now(), path: incoming.url });
    const forwarded = httpRequest(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: incoming.method,
        path: incoming.url,
        headers: incoming.headers,
      },
      (answer) => {
        outgoing.writeHead(answer.statusCode, answer.headers);
        answer.pipe(outgoing);
      },
    );
    forwarded.on("error", () => outgoing.destroy());
    incoming.pipe(forwarded);
  });
  await new Promise((resolve) => proxy.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${proxy.address().port}`,
    seen,
    close: () =>
      new Promise((resolve) => {
        proxy.close(resolve);
        proxy.closeAllConnections();
      }),
  };
}

await benchmark(async () => {
  const server = await startServer(["--runner-capacity", "0"]);
  const proxy = await countingProxy(server.url);
  const runner = await startRunner(server, { serverUrl: proxy.url });
  for (
    const deadline = Date.now() + 20_000;
    !proxy.seen.some((r) => r.path.endsWith("/poll"));
    await sleep(20)
  ) {
    if (Date.now() > deadline) throw new Error(`the runner never polled:\n${runner.output()}`);
  }
  const opened = proxy.seen.find((r) => r.path.endsWith("/poll")).at;
  await sleep(WINDOW_S * 1000);
  const inWindow = proxy.seen.filter((r) => r.at >= opened && r.at < opened + WINDOW_S * 1000);
  await runner.stop();
  await server.stop();

  const gaps = inWindow.slice(1).map((r, i) => (r.at - inWindow[i].at) / 1000);
  const shortest = gaps.length > 0 ? Math.min(...gaps) : Infinity;
  const paths = [...new Set(inWindow.map((r) => r.path))].join(", ");
  const met = shortest >= TARGET_GAP_S;
  console.log(
    `An idle \`conveyor runner\` over ${WINDOW_S} s from its first poll, counted by a proxy in front of the server:`,
  );
  console.log(
    `  ${inWindow.length} requests (${paths}); gaps between them: ${gaps.map((g) => `${g.toFixed(2)} s`).join(", ")}`,
  );
  if (gaps.length > 0)
    console.log(
      `  one request every ${(gaps.reduce((a, b) => a + b, 0) / gaps.length).toFixed(2)} s on average`,
    );
  console.log(
    `  target: at most one request per ${TARGET_GAP_S} s (no gap under ${TARGET_GAP_S} s): shortest gap ${Number.isFinite(shortest) ? `${shortest.toFixed(2)} s` : "none"}: ${verdict(met)}`,
  );
  console.log(`  (${machineNote()})`);
  await proxy.close();
  return met;
});
