// Runs a set of worker processes over one batch of jobs and times it: the clock starts at
// `go()` (which returns its own start time), or with clockFromSpawn before the processes are
// spawned (their start-up counts), and stops when the workers have reported `total` jobs and
// the observer says the queue is drained (polled every 2 ms from then on).
// The processes come from `pool` (reused; each is sent 'run' {cfg: configure(i)}) or from
// `start(i)` (fresh, killed afterwards).
import { nowMs, sleep } from './child-process-harness.mjs';

const sum = (xs) => xs.reduce((a, b) => a + b, 0);

export async function runFleet({
  count,
  pool,
  configure,
  start,
  total,
  countKey,
  go,
  observer,
  stopMessage = false,
  timeoutMs = 900_000,
  clockFromSpawn = false,
}) {
  const spawnedAt = nowMs();
  const children = pool ? pool.take(count) : Array.from({ length: count }, (_, i) => start(i));
  const counts = new Array(count).fill(0);
  const failures = [];
  let reached;
  const reachedTotal = new Promise((resolve) => {
    reached = resolve;
  });
  let failedNow;
  const failed = new Promise((resolve) => {
    failedNow = resolve;
  });
  const unsubscribe = children.map((c, i) =>
    c.onMessage((m) => {
      if (m.type === 'progress') {
        counts[i] = m[countKey];
        if (sum(counts) >= total) reached();
      }
      if (m.type === 'failed') {
        failures.push(m.error);
        failedNow('failed');
      }
    }),
  );
  let ok = false;
  try {
    if (pool) children.forEach((c, i) => void c.send({ type: 'run', cfg: configure(i) }));
    const ready = await Promise.race([Promise.all(children.map((c) => c.waitFor('ready'))), failed]);
    if (ready === 'failed') throw new Error(`a worker failed to start: ${failures[0]}`);
    const started = await go(children);
    const t0 = clockFromSpawn ? spawnedAt : started;
    const deadline = nowMs() + timeoutMs;
    let timer;
    const timedOut = new Promise((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs);
    });
    const exitedEarly = Promise.race(children.map((c) => c.exited)).then(() => 'exited');
    const first = await Promise.race([reachedTotal.then(() => 'reached'), exitedEarly, failed, timedOut]);
    clearTimeout(timer);
    if (first !== 'reached') {
      await sleep(50);
      if (sum(counts) < total)
        throw new Error(
          `workers ${first} after ${sum(counts)}/${total} jobs${failures.length ? `: ${failures[0]}` : ''}` +
            (first === 'exited'
              ? ` (${children.map((c) => c.stderr.trim().slice(-300)).filter(Boolean)[0] ?? ''})`
              : ''),
        );
    }
    while (!(await observer.drained())) {
      if (nowMs() > deadline) throw new Error('queue not drained before the timeout');
      await sleep(2);
    }
    const ms = nowMs() - t0;
    if (stopMessage) for (const c of children) c.send({ type: 'stop' });
    const done = await Promise.all(children.map((c) => c.waitFor(stopMessage ? 'stopped' : 'done', 120_000)));
    ok = true;
    return { ms, done, failures };
  } finally {
    for (const u of unsubscribe) u();
    if (pool && ok) pool.give(children);
    else if (pool) pool.discard(children);
    else for (const c of children) c.kill('SIGKILL');
  }
}
