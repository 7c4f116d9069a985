// Buildbot beside Conveyor, measured the same way: Debian's buildbot 3.7 master with one local
// worker, each build's steps being shell commands. Used only when /usr/bin/buildbot and
// /usr/bin/buildbot-worker are installed (`apt-get install -y buildbot buildbot-worker`); otherwise
// the benchmarks print the issue's reference figures, labelled as such.
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import Database from "better-sqlite3";
import { git, sleep, startProcess, tempDir } from "./conveyor-server.mjs";

const BUILDBOT = "/usr/bin/buildbot";
const WORKER = "/usr/bin/buildbot-worker";
// Debian's Python, where its buildbot package lives (a pyenv or venv python3 first on PATH has none).
const PYTHON = "/usr/bin/python3";

/** The issue's figures for Buildbot on this kind of machine, printed when it is not installed. */
export const BUILDBOT_REFERENCE = { pushToStepMs: 86, perStepMs: 90, buildsPerSecond: 7 };

export const buildbotInstalled = () =>
  !process.env.NO_BUILDBOT && existsSync(BUILDBOT) && existsSync(WORKER) && existsSync(PYTHON);

async function freePort() {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const python = (text) => JSON.stringify(text);

/**
 * A master whose one builder runs `steps` (shell command strings, Buildbot's Interpolate syntax)
 * for every change sent to it, never collapsing requests, on one worker with `maxBuilds` slots.
 * The worker is started with `startWorker()`, so work can be queued before it is there.
 */
export async function startBuildbot({ steps, maxBuilds = 1 }) {
  const root = tempDir("buildbot");
  const pbPort = await freePort();
  const master = join(root, "master");
  const worker = join(root, "worker");
  const run = (command, args) => {
    const result = spawnSync(command, args, { encoding: "utf8" });
    if (result.status !== 0)
      throw new Error(`${command} ${args.join(" ")}: ${result.stdout}${result.stderr}`);
  };
  run(BUILDBOT, ["create-master", "-q", master]);
  run(WORKER, ["create-worker", "-q", worker, `127.0.0.1:${pbPort}`, "w1", "pass"]);
  const factorySteps = steps
    .map((command) => `    steps.ShellCommand(command=util.Interpolate(${python(command)})),`)
    .join("\n");
  writeFileSync(
    join(master, "master.cfg"),
    `from buildbot.plugins import changes, schedulers, steps, util, worker
c = BuildmasterConfig = {}
c['workers'] = [worker.Worker('w1', 'pass', max_builds=${maxBuilds})]
c['protocols'] = {'pb': {'port': 'tcp:${pbPort}:interface=127.0.0.1'}}
# What \`buildbot sendchange\` in a post-receive hook talks to.
c['change_source'] = [changes.PBChangeSource()]
# One build per change, started at once.
c['collapseRequests'] = False
c['schedulers'] = [schedulers.AnyBranchScheduler(name='push', treeStableTimer=None, builderNames=['bench'])]
c['builders'] = [util.BuilderConfig(name='bench', workernames=['w1'], factory=util.BuildFactory([
${factorySteps}
]))]
c['title'] = 'bench'
c['buildbotURL'] = 'http://127.0.0.1/'
c['db'] = {'db_url': 'sqlite:///state.sqlite'}
c['buildbotNetUsageData'] = None
`,
  );
  const log = join(master, "twistd.log");
  const masterProcess = startProcess(BUILDBOT, ["start", "--nodaemon", master]);
  await logLine(log, /BuildMaster is running/, masterProcess);
  let workerProcess;
  return {
    master: `127.0.0.1:${pbPort}`,
    /** Starts the worker; resolves once the master has it (with `attached`) or at once. */
    async startWorker({ attached = true } = {}) {
      workerProcess = startProcess(WORKER, ["start", "--nodaemon", worker]);
      if (attached) await logLine(log, /Worker w1 attached to bench/, workerProcess);
    },
    /** A bare repository whose post-receive hook sends each pushed ref to the master (`buildbot sendchange`). */
    hookedRepository() {
      const bare = join(root, "repo.git");
      git(root, ["init", "-q", "--bare", bare]);
      const hook = join(bare, "hooks", "post-receive");
      writeFileSync(
        hook,
        `#!/bin/sh
while read old new ref; do
  ${BUILDBOT} sendchange --master 127.0.0.1:${pbPort} --auth change:changepw --who bench \\
    --vc git --repository "${bare}" --branch "\${ref#refs/heads/}" --revision "$new" --comments push changed
done
`,
      );
      chmodSync(hook, 0o755);
      return bare;
    },
    /** Sends `count` changes from one process (a process per change would take minutes). */
    sendChanges(count) {
      const script = join(root, "send-changes.py");
      writeFileSync(
        script,
        `from twisted.internet import defer, task
from buildbot.clients import sendchange

@defer.inlineCallbacks
def main(reactor):
    sender = sendchange.Sender(${python(`127.0.0.1:${pbPort}`)})
    for i in range(${count}):
        yield sender.send(branch='main', revision=str(i + 1), comments='bench', files=['changed'], who='bench')

task.react(main)
`,
      );
      run(PYTHON, [script]);
    },
    /** Build requests made and completed so far, from the master's database. */
    requests() {
      const db = new Database(join(master, "state.sqlite"), {
        readonly: true,
        fileMustExist: true,
        timeout: 5000,
      });
      try {
        return db
          .prepare("SELECT COUNT(*) AS made, COALESCE(SUM(complete), 0) AS done FROM buildrequests")
          .get();
      } finally {
        db.close();
      }
    },
    async stop() {
      await workerProcess?.stop();
      await masterProcess.stop();
    },
  };
}

async function logLine(path, pattern, process, ms = 60_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    if (existsSync(path) && pattern.test(readFileSync(path, "utf8"))) return;
    if (process.child.exitCode !== null || Date.now() > deadline) {
      const log = existsSync(path) ? readFileSync(path, "utf8").slice(-3000) : "";
      throw new Error(`Buildbot did not log ${pattern}:\n${process.output()}\n${log}`);
    }
    await sleep(20);
  }
}
