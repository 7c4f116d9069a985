/* global fetch */
// Benchmark (issue 4): 500 queued one-step jobs drained by 8 runner slots. Target: 50 jobs/s or more.
// The jobs are queued first, with no runner: one push of a workflow with two jobs of a 250-entry
// matrix each (`conveyor up --runner-capacity 0`). Then one `conveyor runner --capacity 8` starts,
// and the drain is timed from starting its process (Node's start-up and registration included)
// to its saying that the server took the end of the last job (its output read every 50 ms). The step is `echo hi`, as
// in bench/run.mjs: one shell process, a line of log. The CPU time the server and the runner
// spent per job is shown beside it: it moves far less than wall time with other work on the machine.
// Buildbot 3.7 beside it when installed: 500 changes sent to a master whose worker is stopped
// (max_builds 8, requests never collapsed), then the worker started, timed the same way until
// its database shows every build request complete (100 builds unless BUILDBOT_JOBS says more: it
// drains at a few a second here); else the reference figure.
// Run: npm run build && node bench/server-drain.mjs   (JOBS=n, even, up to 512; NO_BUILDBOT=1, KEEP=1)
// Exits 1 when the target is missed.
import { BUILDBOT_REFERENCE, buildbotInstalled, startBuildbot } from "./lib/buildbot.mjs";
import {
  api,
  benchmark,
  cpuMs,
  hostedRepository,
  machineNote,
  push,
  sleep,
  startRunner,
  startServer,
  verdict,
} from "./lib/conveyor-server.mjs";

const TARGET_PER_SECOND = 50;
const JOBS = Number(process.env.JOBS ?? 500);
const SLOTS = 8;
const POLL_MS = 50;
const BUILDBOT_JOBS = Number(process.env.BUILDBOT_JOBS ?? 100);

const workflow = () => {
  const entries = `[${Array.from({ length: JOBS / 2 }, (_, i) => i + 1).join(", ")}]`;
  const job = (name) => `  ${name}:
    runs-on: self-hosted
    strategy:
      matrix:
        i: ${entries}
    steps:
      - run: echo hi
`;
  return `on: push\njobs:\n${job("a")}${job("b")}`;
};

async function conveyorDrain() {
  const server = await startServer(["--runner-capacity", "0"]);
  const repository = await hostedRepository(server, "drain", { ".github/workflows/drain.yml": workflow() });
  const { sha } = push(repository);
  const { runs } = await api(server, `/repos/admin/${repository.name}/runs`);
  const runId = runs.find((r) => r.sha === sha).id;
  const queued = (await api(server, `/runs/${runId}`)).jobs.filter((j) => j.status === "queued").length;
  if (queued !== JOBS) throw new Error(`${queued} jobs queued, not ${JOBS}`);

  const serverCpu = cpuMs(server.child.pid);
  const startedAt = Date.now();
  const runner = await startRunner(server, { capacity: SLOTS });
  // The runner says each job's end once the server has taken it: counted from its output, so that
  // the count itself costs the server nothing while it works.
  const reported = () => runner.output().match(/\): (success|failure|cancelled)\.$/gm)?.length ?? 0;
  while (reported() < JOBS) {
    if (runner.child.exitCode !== null) throw new Error(`the runner stopped:\n${runner.output()}`);
    await sleep(POLL_MS);
  }
  const doneAt = Date.now();
  const cpu = { server: cpuMs(server.child.pid) - serverCpu, runner: cpuMs(runner.child.pid) };
  const run = await api(server, `/runs/${runId}`);
  if (run.status !== "completed") throw new Error(`run ${runId} is ${run.status} after its ${JOBS} jobs`);
  const failed = run.jobs.filter((j) => j.conclusion !== "success").length;
  if (failed > 0) {
    const bad = run.jobs.find((j) => j.conclusion !== "success");
    const log = await fetch(`${server.url}/api/v1/jobs/${bad.id}/logs?format=text`, {
      headers: { authorization: `Bearer ${server.token}` },
    }).then((r) => r.text());
    const said = runner
      .output()
      .split("\n")
      .filter((l) => !/: (started|success)\.$/.test(l))
      .slice(-20)
      .join("\n");
    throw new Error(
      `${failed} jobs did not succeed; ${bad.name}: ${bad.conclusion} ${bad.reason ?? ""}\n${log.slice(-3000)}\nthe runner said:\n${said}`,
    );
  }
  await runner.stop();
  await server.stop();
  return { startedAt, doneAt, cpu };
}

async function buildbotDrain() {
  const buildbot = await startBuildbot({ steps: ["echo hi"], maxBuilds: SLOTS });
  try {
    buildbot.sendChanges(BUILDBOT_JOBS);
    for (
      const deadline = Date.now() + 60_000;
      buildbot.requests().made < BUILDBOT_JOBS;
      await sleep(POLL_MS)
    ) {
      if (Date.now() > deadline) throw new Error(`Buildbot made ${buildbot.requests().made} build requests`);
    }
    const startedAt = Date.now();
    await buildbot.startWorker({ attached: false });
    while (buildbot.requests().done < BUILDBOT_JOBS) await sleep(POLL_MS);
    return { startedAt, doneAt: Date.now() };
  } finally {
    await buildbot.stop();
  }
}

function report(name, { startedAt, doneAt }, jobs = JOBS) {
  const seconds = (doneAt - startedAt) / 1000;
  console.log(
    `  ${name.padEnd(30)} ${(jobs / seconds).toFixed(1).padStart(6)} jobs/s (${jobs} in ${seconds.toFixed(2)} s)`,
  );
  return jobs / seconds;
}

await benchmark(async () => {
  const conveyor = await conveyorDrain();
  console.log(
    `${JOBS} queued one-step jobs drained by ${SLOTS} slots of one runner, timed from starting the`,
  );
  console.log(
    `runner (process start-up included) until it reports the last one taken by the server (read every ${POLL_MS} ms)`,
  );
  const rate = report(`conveyor runner --capacity ${SLOTS}`, conveyor);
  console.log(
    `  ${"".padEnd(30)} CPU per job: server ${(conveyor.cpu.server / JOBS).toFixed(1)} ms, runner ${(conveyor.cpu.runner / JOBS).toFixed(1)} ms (its start-up included; the steps' processes not)`,
  );
  if (buildbotInstalled()) report(`buildbot 3.7, max_builds ${SLOTS}`, await buildbotDrain(), BUILDBOT_JOBS);
  else
    console.log(
      `  ${"buildbot 3.7, issue's figure".padEnd(26)} about ${BUILDBOT_REFERENCE.buildsPerSecond} builds/s (not installed here; not measured)`,
    );
  const met = rate >= TARGET_PER_SECOND;
  console.log(`  target: ${TARGET_PER_SECOND} jobs/s or more: ${rate.toFixed(1)} jobs/s: ${verdict(met)}`);
  console.log(`  (${machineNote()})`);
  return met;
});
