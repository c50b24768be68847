import { afterEach, describe, expect, it } from 'vitest';
import { useTestDatabase } from '../support/test-database.js';
import { createInitialized, describeWorkflow, eventually, tmpDir, within } from './support/fault-fixtures.js';
import { expectInvariants, isComplete, statusCounts } from './support/invariants.js';
import { JobLedger } from './support/job-ledger.js';
import { expectLedgerConsistent } from './support/ledger-checks.js';
import { killAllWorkers, startWorker } from './support/worker-process.js';
import { layeredWorkflow } from './support/workload.js';

// Finding 13: an admin (or a pooler, or the OOM killer) ends a worker's backends with
// pg_terminate_backend: its pool connections (application_name sluice-worker) mid-query, or its
// LISTEN connection alone (sluice-listener). The workflow must still complete, every counter exact.

const t = useTestDatabase('faults_terminate');
const ledgers: JobLedger[] = [];

afterEach(async () => {
  await killAllWorkers();
  for (const l of ledgers.splice(0)) l.killAll();
});

async function terminate(applicationName: string): Promise<number> {
  const rows = await t.query<{ ok: boolean }>(
    `SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity
      WHERE datname = current_database() AND application_name = $1 AND pid <> pg_backend_pid()`,
    [applicationName],
  );
  return rows.filter((r) => r.ok).length;
}

describe('pg_terminate_backend of worker connections', () => {
  for (const [what, appName, seed] of [
    ['pool connections (sluice-worker)', 'sluice-worker', 21],
    ['listener alone (sluice-listener)', 'sluice-listener', 22],
  ] as const) {
    it(`terminating the ${what} repeatedly: the workflow completes, invariants hold`, async () => {
      const dir = tmpDir();
      const ledger = new JobLedger();
      ledgers.push(ledger);
      const wf = layeredWorkflow(ledger, { jobs: 200, width: 20, work: 'sleep 0.05', actionsPerTrigger: 1, seed });
      const id = await createInitialized(t, wf);
      // A 60 s poll: after a lost listener only its reconnection wakes the workers promptly.
      const args = [
        '--poll-interval',
        '60',
        '--max-parallel-jobs',
        '4',
        '--heartbeat-interval',
        '1',
        '--heartbeat-timeout',
        '30',
      ];
      const workers = [0, 1].map(() => startWorker(id, { url: t.url, cwd: dir, args }));
      let terminated = 0;
      for (let round = 0; round < 8 && !(await isComplete(t.query, id)); round++) {
        await new Promise((r) => setTimeout(r, 400));
        terminated += await terminate(appName);
      }
      expect(terminated, 'backends terminated during the run').toBeGreaterThan(0);
      const complete = await eventually(() => isComplete(t.query, id), 120_000);
      expect(complete, `not complete 120 s after the terminations: ${await describeWorkflow(t, id)}`).toBe(true);
      const exits = await Promise.all(workers.map((w) => within(w.exited, 120_000, null)));
      for (const e of exits) expect(e?.code, e?.stderr.slice(-2000)).toBe(0);
      expect(await statusCounts(t.query, id)).toEqual({ completed: 200 });
      await expectInvariants(t.query, id);
      await expectLedgerConsistent(t.query, id, ledger);
    });
  }
});
