// The no-op driver: the loop of a worker whose jobs do nothing. It claims a batch, records the
// starts, and hands the jobs to the completion writer, which writes every completion queued
// while the previous batch was being written in one call (as the worker's JobRunner does), on
// its own connection, while the loop claims again. Errors are counted and retried: the
// benchmarks report them.
import { sleep } from './child-process-harness.mjs';

/**
 * ops: { claim(limit) (which starts what it claims), complete(jobs), done(), waitForWork(ms) }.
 * onCommitted(n) is called after each batch of completions is written.
 */
export async function runNoopDriver(ops, { claimBatch, onCommitted = () => {}, shouldStop = () => false }) {
  const stats = { claims: 0, emptyClaims: 0, committed: 0, errors: 0, lastError: null };
  const queue = [];
  let writing = null;

  const retry = async (what, fn) => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn();
      } catch (e) {
        stats.errors++;
        stats.lastError = `${what}: ${e?.message ?? e}`;
        if (attempt >= 50) throw e;
        await sleep(Math.min(200, 5 * attempt));
      }
    }
  };

  const writeAll = async () => {
    while (queue.length > 0) {
      const batch = queue.splice(0, queue.length);
      await retry('complete', () => ops.complete(batch));
      stats.committed += batch.length;
      onCommitted(batch.length, stats.committed);
    }
  };
  const kick = () => {
    if (!writing)
      writing = writeAll().finally(() => {
        writing = null;
      });
  };

  while (!shouldStop()) {
    stats.claims++;
    const jobs = await retry('claim', () => ops.claim(claimBatch));
    if (jobs.length > 0) {
      queue.push(...jobs);
      kick();
      continue;
    }
    stats.emptyClaims++;
    if (writing) {
      await writing;
      continue;
    }
    if (await retry('done', () => ops.done())) break;
    await ops.waitForWork(50);
  }
  while (writing) await writing;
  return stats;
}
