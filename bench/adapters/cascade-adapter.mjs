// ADAPTER (figure 11): failure cascades. The specs (a root with N direct dependents, a chain of
// N jobs after a root), the failing completion of the root through Sluice's own SQL, and the
// baseline: one bare UPDATE that cancels the same rows, with no trigger or counter.
import { jobsComplete, openPool } from '@sluice/core';
import { claimJobs, registerWorker } from './coordinator-adapter.mjs';
import { jobName, jobSpec, writeSpec } from './spec-adapter.mjs';

export const writeFanOutSpec = (file, n) =>
  writeSpec(file, {
    name: 'bench-cascade-fan-out',
    numJobs: n + 1,
    job: (i) => (i === 0 ? jobSpec(0, 'true') : { name: jobName(i), command: 'true', depends_on: [jobName(0)] }),
  });

export const writeChainSpec = (file, n) =>
  writeSpec(file, {
    name: 'bench-cascade-chain',
    numJobs: n + 1,
    job: (i) => (i === 0 ? jobSpec(0, 'true') : { name: jobName(i), command: 'true', depends_on: [jobName(i - 1)] }),
  });

/** Claims the root and records it failed; returns the seconds that completion took, and the jobs it canceled. */
export async function failRoot(url, workflowId) {
  const h = openPool(url, { max: 1 });
  try {
    const w = await registerWorker(h, workflowId);
    const [root] = await claimJobs(h, w, 1);
    if (!root) throw new Error('the root was not claimed');
    const now = new Date();
    const t0 = performance.now();
    await jobsComplete(h.db, w, [
      {
        jobId: root.id,
        attempt: root.attempt,
        status: 'failed',
        returnCode: 1,
        startedAt: now,
        completedAt: now,
        message: null,
        stdoutPath: null,
        stderrPath: null,
      },
    ]);
    const s = (performance.now() - t0) / 1000;
    const r = await h.pool.query(
      "SELECT count(*)::int AS n FROM sluice.jobs WHERE workflow_id = $1 AND status = 'canceled'",
      [workflowId],
    );
    return { s, canceled: r.rows[0].n };
  } finally {
    await h.close();
  }
}

/** The floor: the same rows canceled by one UPDATE with the table's triggers off. */
export async function bareCancel(url, workflowId) {
  const h = openPool(url, { max: 1 });
  try {
    const c = await h.pool.connect();
    try {
      await c.query('BEGIN');
      await c.query("SET LOCAL session_replication_role = 'replica'");
      const t0 = performance.now();
      const r = await c.query(
        "UPDATE sluice.jobs SET status = 'canceled' WHERE workflow_id = $1 AND status = 'blocked'",
        [workflowId],
      );
      const s = (performance.now() - t0) / 1000;
      await c.query('COMMIT');
      return { s, canceled: r.rowCount };
    } finally {
      c.release();
    }
  } finally {
    await h.close();
  }
}
