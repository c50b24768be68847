import { workersRegister, workflowsCreate, workflowsInitialize } from '@sluice/core';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { useTestDatabase } from '../support/test-database.js';
import { buildWorkflow, type JobSketch } from '../support/workflow-builder.js';

const t = useTestDatabase('claim-plans');

/**
 * The plans jobs_claim's own queries ran with, as auto_explain reports them to the client. A claim
 * must walk jobs_ready_idx in order and stop at its limit whatever the estimates say: on a 200k-job
 * workflow right after creation the planner read and sorted every ready job instead (218 ms a claim).
 */
async function claimPlans(claim: string): Promise<string[]> {
  const c = new pg.Client({ connectionString: t.url });
  const plans: string[] = [];
  c.on('notice', (n) => {
    if (n.message?.includes('Query Text')) plans.push(n.message);
  });
  await c.connect();
  try {
    await c.query("LOAD 'auto_explain'");
    await c.query('SET auto_explain.log_min_duration = 0');
    await c.query('SET auto_explain.log_nested_statements = on');
    await c.query('SET client_min_messages = log');
    // What the planner saw on a big workflow nobody had analyzed (an empty table, a deeper index
    // than the estimate allowed for), made to hold at any size: costs under which reading every
    // ready job and sorting them looks cheaper than walking the index.
    await c.query('SET random_page_cost = 1000');
    await c.query('BEGIN');
    const r = await c.query(claim);
    await c.query('ROLLBACK');
    expect(r.rows.length).toBeGreaterThan(0);
  } finally {
    await c.end();
  }
  return plans;
}

describe('jobs_claim plans without statistics', () => {
  it('both claim modes walk the ready index in order, even where the estimates favour a sort', async () => {
    const jobs: Record<string, JobSketch> = {};
    for (let i = 0; i < 2000; i++) jobs[`j${i}`] = {};
    const id = await workflowsCreate(t.handle.db, buildWorkflow(jobs));
    await workflowsInitialize(t.handle.db, id);
    // Creation and initialize analyze what they wrote; the plans must not need it, so forget it
    // (as on a server where those statistics were lost, or never taken).
    await t.query(
      "DELETE FROM pg_statistic WHERE starelid = 'sluice.jobs'::regclass; UPDATE pg_class SET reltuples = -1, relpages = 0 WHERE oid = 'sluice.jobs'::regclass",
    );
    const stats = await t.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM pg_stats WHERE schemaname = 'sluice' AND tablename = 'jobs'",
    );
    expect(stats[0]?.n).toBe(0);
    const w = await workersRegister(t.handle.db, {
      workflowId: id,
      hostname: 'h',
      pid: 1,
      osUser: null,
      numCpus: 8,
      memoryBytes: 2 ** 40,
      numGpus: 0,
      numNodes: 1,
      maxParallelJobs: null,
      endsAt: null,
      heartbeatTimeoutSeconds: 600,
    });
    for (const claim of [
      `SELECT id FROM sluice.jobs_claim(${w.id}, 8, false, 0, 0, 0, 0, NULL)`,
      `SELECT id FROM sluice.jobs_claim(${w.id}, 64, true, 8, ${2 ** 40}, 0, 1, NULL)`,
    ]) {
      const plans = await claimPlans(claim);
      const candidates = plans.filter((p) => /ORDER BY j\.priority DESC/.test(p));
      expect(candidates).toHaveLength(1);
      expect(candidates[0]).toMatch(/Index Scan using jobs_ready_idx/);
      expect(candidates[0]).not.toMatch(/Sort|Bitmap|Seq Scan/);
    }
  });
});
