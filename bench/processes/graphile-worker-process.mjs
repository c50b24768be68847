// graphile-worker processes of the baselines. A config in argv[2] starts a run at once (a
// fresh process, whose start-up is timed); without it, the process waits for 'run' messages
// (kept between runs by a ProcessPool). Config:
//   { url, task: 'noop' | 'spawn-true' | 'chain', concurrency, maxPoolSize, batched, localQueueSize,
//     stampDir, chainLength }
// Per run: 'ready' once running, 'progress' {executed} as tasks run, 'chain-done' after the
// last link of a chain; 'stop' -> 'stopped'. 'exit' ends the process.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { Logger, run } from 'graphile-worker';

const send = (m) => process.send?.(m);
const silent = new Logger(() => () => {});

const exitOf = (cmd, args) =>
  new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: 'ignore' });
    p.once('error', reject);
    p.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} exited ${code}`))));
  });

let current = null;

async function start(cfg) {
  let executed = 0;
  const stamp = (name) => `date +%s%N > ${path.join(cfg.stampDir ?? '/tmp', name)}`;
  const taskList = {
    noop: async () => {
      executed++;
    },
    'spawn-true': async () => {
      await exitOf('true', []);
      executed++;
    },
    chain: async (payload, helpers) => {
      const i = payload.i;
      await exitOf('bash', ['-c', `${stamp(`start_${i}`)}; ${stamp(`end_${i}`)}`]);
      executed++;
      if (i + 1 < cfg.chainLength) await helpers.addJob('chain', { i: i + 1 });
      else send({ type: 'chain-done' });
    },
  };
  try {
    const runner = await run({
      connectionString: cfg.url,
      maxPoolSize: cfg.maxPoolSize,
      concurrency: cfg.concurrency,
      noHandleSignals: true,
      pollInterval: 2000,
      logger: silent,
      taskList,
      preset: {
        worker: cfg.batched
          ? { localQueue: { size: cfg.localQueueSize }, completeJobBatchDelay: 0, failJobBatchDelay: 0 }
          : {},
      },
    });
    let last = -1;
    const timer = setInterval(() => {
      if (executed !== last) {
        last = executed;
        send({ type: 'progress', executed });
      }
    }, 10);
    current = { runner, timer, executed: () => executed };
    send({ type: 'ready' });
  } catch (e) {
    send({ type: 'failed', error: `set-up: ${e?.message ?? e}` });
  }
}

async function stop() {
  const c = current;
  current = null;
  if (!c) return send({ type: 'stopped', executed: 0 });
  clearInterval(c.timer);
  await c.runner.stop();
  send({ type: 'stopped', executed: c.executed() });
}

process.on('message', (m) => {
  if (m?.type === 'run') void start(m.cfg);
  else if (m?.type === 'stop') void stop();
  else if (m?.type === 'exit') process.exit(0);
});
process.on('disconnect', () => process.exit(0));
if (process.argv[2]) void start(JSON.parse(process.argv[2]));
