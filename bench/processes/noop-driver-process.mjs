// No-op driver processes (lib/noop-driver.mjs) over Sluice's SQL or the raw floor's, kept
// between runs by a ProcessPool so that a run does not pay for node's start-up.
// Per run: 'run' {cfg: { url, kind: 'sluice' | 'raw', workflowId, workerIndex }} -> 'ready'
// once registered; 'go' -> 'progress' {committed} ... 'done' {stats} (or 'failed' {error}).
// 'exit' ends the process.
import { CLAIM_BATCH, openSluiceDriver } from '../adapters/coordinator-adapter.mjs';
import { runNoopDriver } from '../lib/noop-driver.mjs';
import { openRawDriver } from '../lib/raw-sql-floor.mjs';

const send = (m) => process.send?.(m);
let go = null;

async function runOnce(cfg) {
  let ops;
  try {
    ops =
      cfg.kind === 'sluice'
        ? await openSluiceDriver(cfg.url, cfg.workflowId)
        : openRawDriver(cfg.url, cfg.workerIndex + 1);
  } catch (e) {
    send({ type: 'failed', error: `set-up: ${e?.message ?? e}` });
    return;
  }
  await new Promise((resolve) => {
    go = resolve;
    send({ type: 'ready' });
  });
  let committed = 0;
  let last = -1;
  const timer = setInterval(() => {
    if (committed !== last) {
      last = committed;
      send({ type: 'progress', committed });
    }
  }, 10);
  try {
    const stats = await runNoopDriver(ops, {
      claimBatch: CLAIM_BATCH,
      onCommitted: (_n, total) => {
        committed = total;
      },
    });
    clearInterval(timer);
    send({ type: 'progress', committed });
    send({ type: 'done', stats });
  } catch (e) {
    clearInterval(timer);
    send({ type: 'failed', error: String(e?.message ?? e) });
  } finally {
    await ops.close().catch(() => {});
  }
}

process.on('message', (m) => {
  if (m?.type === 'run') void runOnce(m.cfg);
  else if (m?.type === 'go') go?.();
  else if (m?.type === 'exit') process.exit(0);
});
process.on('disconnect', () => process.exit(0));
