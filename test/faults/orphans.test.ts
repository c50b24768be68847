import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../support/cli-runner.js';
import { useTestDatabase } from '../support/test-database.js';
import { buildWorkflow } from '../support/workflow-builder.js';
import { createInitialized, eventually, jobByName, tmpDir } from './support/fault-fixtures.js';
import { JobLedger } from './support/job-ledger.js';
import { alive, killAllWorkers, startWorker } from './support/worker-process.js';

// Finding 2: a job runs in a process group of its own, so when its worker dies (SIGKILL of the
// worker alone, or of the worker's whole process group) the job and everything it started keep
// running, unowned, beside the rerun of the same job. And a job whose shell exits leaves its
// background children running. A worker's jobs must die with it, and a job's leftovers with it.

const t = useTestDatabase('faults_orphans');
const ledgers: JobLedger[] = [];
const GONE_WITHIN_MS = 15_000;

afterEach(async () => {
  await killAllWorkers();
  for (const l of ledgers.splice(0)) l.killAll(['pids']);
});

/** A job that starts a background child and a setsid'd one, records every pid, then waits. */
function spawningJob(ledger: JobLedger): string {
  const pids = `'${path.join(ledger.dir, 'pids')}'`;
  return ledger.job(
    [
      `echo $$ >> ${pids}`,
      `sleep 300 & echo $! >> ${pids}`,
      `setsid sleep 300 & echo $! >> ${pids}`,
      `touch '${path.join(ledger.dir, 'ready')}'`,
      'wait',
    ].join('\n'),
  );
}

async function startSpawningWorkflow(dir: string) {
  const ledger = new JobLedger();
  ledgers.push(ledger);
  const id = await createInitialized(t, buildWorkflow({ spawner: { command: spawningJob(ledger) } }));
  const worker = startWorker(id, { url: t.url, cwd: dir, args: ['--poll-interval', '1'], detached: true });
  await waitFor('the job to start its children', async () => existsSync(path.join(ledger.dir, 'ready')), 60_000);
  const pids = ledger.pidsIn('pids');
  expect(pids).toHaveLength(3);
  expect(pids.every(alive)).toBe(true);
  return { ledger, worker, pids };
}

async function expectAllGone(pids: number[], what: string): Promise<void> {
  await eventually(() => pids.every((p) => !alive(p)), GONE_WITHIN_MS);
  const left = pids.filter(alive);
  expect(left, `${what}: processes still alive ${GONE_WITHIN_MS / 1000} s later (of ${pids.join(', ')})`).toEqual([]);
}

describe("a worker's job processes do not outlive it", () => {
  it('SIGKILL of the worker process alone kills its job, the job children and a setsid grandchild', async () => {
    const { worker, pids } = await startSpawningWorkflow(tmpDir());
    worker.kill('SIGKILL');
    await worker.exited;
    await expectAllGone(pids, 'after SIGKILL of the worker process');
  });

  it("SIGKILL of the worker's whole process group kills its job and everything the job started", async () => {
    const { worker, pids } = await startSpawningWorkflow(tmpDir());
    worker.killGroup('SIGKILL');
    await worker.exited;
    await expectAllGone(pids, "after SIGKILL of the worker's process group");
  });

  it('a job whose shell exits 0 leaves no background child running', async () => {
    const dir = tmpDir();
    const ledger = new JobLedger();
    ledgers.push(ledger);
    const pids = `'${path.join(ledger.dir, 'pids')}'`;
    const id = await createInitialized(
      t,
      buildWorkflow({
        leaver: { command: ledger.job(`sleep 300 & echo $! >> ${pids}; true`) },
        // Keeps the worker busy: the leftover must go when its job ends, not when the worker leaves.
        next: { deps: ['leaver'], command: 'sleep 60' },
      }),
    );
    startWorker(id, { url: t.url, cwd: dir, args: ['--poll-interval', '1'] });
    await waitFor(
      'the job to be recorded completed',
      async () => (await jobByName(t, id, 'leaver')).status === 'completed',
      60_000,
    );
    const left = ledger.pidsIn('pids');
    expect(left).toHaveLength(1);
    await expectAllGone(left, 'after the job exited 0');
  });
});
