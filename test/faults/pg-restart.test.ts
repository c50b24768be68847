import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestDatabase } from '../support/test-database.js';
import {
  createInitialized,
  describeWorkflow,
  eventually,
  openTestDatabase,
  tmpDir,
  within,
} from './support/fault-fixtures.js';
import { expectInvariants, isComplete, statusCounts } from './support/invariants.js';
import { JobLedger } from './support/job-ledger.js';
import { expectLedgerConsistent } from './support/ledger-checks.js';
import { PgServer, type ShutdownMode } from './support/pg-server.js';
import { alive, killAllWorkers, startWorker, type WorkerProcess } from './support/worker-process.js';
import { layeredWorkflow } from './support/workload.js';

// Finding 12: PostgreSQL restarted under running workers (fast shutdown: sessions terminated;
// immediate: a crash and recovery). With a 60 s poll, only NOTIFY wakes the workers promptly,
// so their listeners must reconnect. The workflow must complete with every job run once.
// This file restarts a server of its own, so that no other test file sees the restarts.

let server: PgServer;
let t: TestDatabase;
const ledgers: JobLedger[] = [];

beforeAll(async () => {
  server = await PgServer.create({ maxConnections: 100 });
  const url = await server.createMigratedDatabase('sluice_faults_restart');
  t = openTestDatabase('sluice_faults_restart', url);
});

afterAll(async () => {
  await killAllWorkers();
  for (const l of ledgers) l.killAll();
  await t?.handle.close();
  await server?.destroy();
});

async function liveListeners(): Promise<number> {
  const [r] = await t.query<{ n: number }>(
    "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'sluice-listener'",
  );
  return r?.n ?? 0;
}

async function doneJobs(id: number): Promise<number> {
  const [r] = await t.query<{ n: number }>(
    "SELECT count(*)::int AS n FROM sluice.jobs WHERE workflow_id = $1 AND status = 'completed'",
    [id],
  );
  return r?.n ?? 0;
}

describe('PostgreSQL restarted mid-run', () => {
  for (const mode of ['fast', 'immediate'] as ShutdownMode[]) {
    it(`${mode} shutdown: the workflow completes, no job runs twice, the listeners reconnect`, async () => {
      const dir = tmpDir();
      const ledger = new JobLedger();
      ledgers.push(ledger);
      const go = path.join(dir, 'go');
      // The gate keeps the workers alive after the restart, for the listener check.
      const wf = layeredWorkflow(ledger, {
        jobs: 300,
        width: 30,
        work: 'sleep 0.05',
        actionsPerTrigger: 1,
        seed: mode === 'fast' ? 12 : 13,
        extraJobs: { gate: { command: ledger.job(`while [ ! -e '${go}' ]; do sleep 0.1; done`) } },
      });
      const id = await createInitialized(t, wf);
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
      const workers: WorkerProcess[] = [0, 1, 2].map(() => startWorker(id, { url: t.url, cwd: dir, args }));
      // Three restarts at different points of the run: each may hit a claim or a completion
      // between its commit and its reply.
      for (const threshold of [60, 140, 220]) {
        const reached = await eventually(async () => (await doneJobs(id)) >= threshold, 120_000);
        expect(reached, `the run stalled before ${threshold} jobs were done: ${await describeWorkflow(t, id)}`).toBe(
          true,
        );
        await server.restart(mode);
      }

      const live = workers.filter((w) => w.exitCode === undefined && alive(w.pid)).length;
      const reconnected = await eventually(async () => (await liveListeners()) >= live, 60_000);
      expect(reconnected, `listeners after the restart: ${await liveListeners()} for ${live} live workers`).toBe(true);
      writeFileSync(go, '');

      const complete = await eventually(() => isComplete(t.query, id), 120_000);
      expect(complete, `not complete 120 s after the restarts: ${await describeWorkflow(t, id)}`).toBe(true);
      const exits = await Promise.all(workers.map((w) => within(w.exited, 120_000, null)));
      for (const e of exits) expect(e?.code, e?.stderr.slice(-2000)).toBe(0);
      expect(await statusCounts(t.query, id)).toEqual({ completed: 301 });
      await expectInvariants(t.query, id);
      await expectLedgerConsistent(t.query, id, ledger);
    });
  }
});
