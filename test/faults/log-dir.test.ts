import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../support/cli-runner.js';
import { useTestDatabase } from '../support/test-database.js';
import { buildWorkflow, type JobSketch } from '../support/workflow-builder.js';
import { createInitialized, describeWorkflow, jobByName, tmpDir, within } from './support/fault-fixtures.js';
import { expectInvariants } from './support/invariants.js';
import { killAllWorkers, startWorker } from './support/worker-process.js';

// Finding 14: when a job's log directory (OUTPUT/job_stdio) is unwritable or full, the job must
// fail with a message naming the path (results.message), and the worker must survive and run
// the next jobs once the directory is usable again.

const t = useTestDatabase('faults_log_dir');
const cleanup: (() => void)[] = [];

afterEach(async () => {
  await killAllWorkers();
  for (const c of cleanup.splice(0).reverse()) {
    try {
      c();
    } catch {
      // best effort
    }
  }
});

/** gate waits for the test; breaker spoils the log directory; victim is the job that meets it; after runs once it is usable again. */
function workflow(dir: string, breaker: string, victim: string) {
  // The gate runs in a process group of its own: open it whatever the test's outcome.
  cleanup.push(() => writeFileSync(path.join(dir, 'go'), ''));
  // The breaker waits for the gate to run: started together, it could spoil the directory before
  // the gate's logs were open, and the gate, failing, let `after` run too early (seen under load).
  const started = path.join(dir, 'gate.started');
  const jobs: Record<string, JobSketch> = {
    gate: { command: `touch '${started}'; while [ ! -e '${path.join(dir, 'go')}' ]; do sleep 0.1; done` },
    breaker: { command: `while [ ! -e '${started}' ]; do sleep 0.05; done; ${breaker}` },
    victim: { deps: ['breaker'], command: victim },
    after: { deps: ['victim', 'gate'], cob: false, command: 'echo after' },
  };
  return buildWorkflow(jobs);
}

async function victimResult(id: number) {
  const victim = await jobByName(t, id, 'victim');
  return waitFor(
    'the victim job to be recorded',
    async () => {
      const rows = await t.query<{ status: string; message: string | null }>(
        'SELECT status::text, message FROM sluice.results WHERE job_id = $1',
        [victim.id],
      );
      return rows[0] ?? null;
    },
    60_000,
  );
}

async function expectWorkerGoesOn(id: number, dir: string, worker: ReturnType<typeof startWorker>) {
  writeFileSync(path.join(dir, 'go'), '');
  const exit = await within(worker.exited, 60_000, null);
  expect(exit, `the worker did not finish: ${await describeWorkflow(t, id)}`).not.toBeNull();
  expect(exit?.code, exit?.stderr).toBe(0);
  const after = await jobByName(t, id, 'after');
  const said = await t.query<{ message: string | null }>('SELECT message FROM sluice.results WHERE job_id = $1', [
    after.id,
  ]);
  expect(after.status, `the job after the broken one (${JSON.stringify(said)})`).toBe('completed');
  await expectInvariants(t.query, id);
}

describe('an unusable job log directory', () => {
  it('unwritable (job_stdio replaced by a file): the job fails naming the path, the worker goes on', async () => {
    const dir = tmpDir();
    const out = path.join(dir, 'out');
    const stdio = path.join(out, 'job_stdio');
    const id = await createInitialized(t, workflow(dir, `rm -rf '${stdio}' && touch '${stdio}'`, 'echo victim'));
    const worker = startWorker(id, {
      url: t.url,
      cwd: dir,
      args: ['--output-dir', out, '--max-parallel-jobs', '4', '--poll-interval', '1'],
    });
    const r = await victimResult(id);
    expect(r.status).toBe('failed');
    expect(r.message ?? '', 'results.message names the log path').toContain(stdio);
    rmSync(stdio, { force: true });
    mkdirSync(stdio);
    await expectWorkerGoesOn(id, dir, worker);
  });

  it('full (a 64 KiB tmpfs): the job fails naming the path, the worker goes on', async () => {
    const dir = tmpDir();
    const out = path.join(dir, 'out');
    const stdio = path.join(out, 'job_stdio');
    mkdirSync(stdio, { recursive: true });
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', stdio]);
    cleanup.push(() => execFileSync('umount', ['-l', stdio]));
    const filler = path.join(stdio, 'filler');
    const id = await createInitialized(
      t,
      workflow(dir, `head -c 1000000 /dev/zero > '${filler}'; true`, 'head -c 200000 /dev/zero; echo victim'),
    );
    const worker = startWorker(id, {
      url: t.url,
      cwd: dir,
      args: ['--output-dir', out, '--max-parallel-jobs', '4', '--poll-interval', '1'],
    });
    const r = await victimResult(id);
    expect(r.status).toBe('failed');
    expect(r.message ?? '', 'results.message names the log path (the disk is full)').toContain(stdio);
    unlinkSync(filler);
    await expectWorkerGoesOn(id, dir, worker);
  });
});
