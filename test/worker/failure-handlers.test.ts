import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, spawnCli, waitFor } from '../support/cli-runner.js';
import { useTestDatabase } from '../support/test-database.js';

// torc's failure handlers: a failure whose exit code a rule covers is retried (the rule's
// recovery script first) while attempts remain; everything else fails and cascades as before.

const t = useTestDatabase('failure_handlers');
const env = () => ({ SLUICE_DATABASE_URL: t.url });
const FAST = ['--poll-interval', '60', '--heartbeat-interval', '0.2', '--output-dir', 'out'];

function specIn(dir: string, flakyExit: number, recovery: string, maxRetries = 3): string {
  // Fails with flakyExit on its first two attempts, then succeeds: deterministic through a counter.
  const flaky = `n=$(cat count 2>/dev/null || echo 0); n=$((n+1)); echo $n > count; echo "$TORC_ATTEMPT_ID $SLUICE_ATTEMPT_ID" >> attempts; [ $n -ge 3 ] || exit ${flakyExit}`;
  const file = path.join(dir, 'spec.yaml');
  writeFileSync(
    file,
    `name: flaky
failure_handlers:
  - name: retry_on_12
    rules:
      - exit_codes: [12]
        recovery_script: ${JSON.stringify(recovery)}
        max_retries: ${maxRetries}
jobs:
  - name: flaky
    command: ${JSON.stringify(flaky)}
    failure_handler: retry_on_12
  - name: after
    command: echo ran >> after.log
    depends_on: [flaky]
actions:
  - trigger_type: on_jobs_complete
    action_type: run_commands
    jobs: [flaky]
    commands: ["echo fired >> ../actions.log"]
`,
  );
  return file;
}

async function results(workflowId: number) {
  return t.query<{ name: string; attempt_id: number; status: string; return_code: number | null }>(
    `SELECT j.name, r.attempt_id, r.status::text, r.return_code FROM sluice.results r JOIN sluice.jobs j ON j.id = r.job_id
      WHERE r.workflow_id = $1 ORDER BY r.id`,
    [workflowId],
  );
}

const idOf = (stderr: string) => Number(/created workflow (\d+)/.exec(stderr)?.[1]);

describe('failure handlers and retries', () => {
  it('exit 12 twice then 0 with max_retries 3: completes on attempt 3, its dependents run once, actions see only the end', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'sluice-retry-'));
    const spec = specIn(
      dir,
      12,
      'echo "recovering $TORC_RETURN_CODE $SLUICE_RETURN_CODE $TORC_ATTEMPT_ID" >> recovery.log',
    );
    const r = await runCli(['run', spec, ...FAST], { env: env(), cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    const id = idOf(r.stderr);
    expect(await results(id)).toEqual([
      { name: 'flaky', attempt_id: 1, status: 'failed', return_code: 12 },
      { name: 'flaky', attempt_id: 2, status: 'failed', return_code: 12 },
      { name: 'flaky', attempt_id: 3, status: 'completed', return_code: 0 },
      { name: 'after', attempt_id: 1, status: 'completed', return_code: 0 },
    ]);
    expect(readFileSync(path.join(dir, 'attempts'), 'utf8')).toBe('1 1\n2 2\n3 3\n');
    // The recovery script ran before attempts 2 and 3, with the failed attempt's return code.
    expect(readFileSync(path.join(dir, 'recovery.log'), 'utf8')).toBe('recovering 12 12 2\nrecovering 12 12 3\n');
    expect(readFileSync(path.join(dir, 'after.log'), 'utf8')).toBe('ran\n');
    expect(readFileSync(path.join(dir, 'actions.log'), 'utf8')).toBe('fired\n');
    const retried = await t.query('SELECT id FROM sluice.events WHERE workflow_id = $1 AND kind = $2', [
      id,
      'job_retried',
    ]);
    expect(retried).toHaveLength(2);
    // Each attempt keeps its own log files.
    const jobs = JSON.parse((await runCli(['jobs', 'list', String(id), '--json'], { env: env() })).stdout);
    const flakyId = jobs.find((j: { name: string }) => j.name === 'flaky').id;
    for (const a of [1, 2, 3]) {
      expect(existsSync(path.join(dir, 'out', 'job_stdio', `wf${id}_job${flakyId}_run1_attempt${a}.o`))).toBe(true);
    }
    expect(jobs.find((j: { name: string }) => j.name === 'flaky')).toMatchObject({
      status: 'completed',
      attempt_id: 3,
    });
  });

  it('an exit code no rule covers fails the job and cascades, without a retry', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'sluice-retry-'));
    const spec = specIn(dir, 1, 'echo recovering >> recovery.log');
    const r = await runCli(['run', spec, ...FAST], { env: env(), cwd: dir });
    expect(r.code).toBe(1);
    const id = idOf(r.stderr);
    expect(await results(id)).toEqual([{ name: 'flaky', attempt_id: 1, status: 'failed', return_code: 1 }]);
    const statuses = await t.query<{ name: string; status: string }>(
      'SELECT name, status::text FROM sluice.jobs WHERE workflow_id = $1 ORDER BY id',
      [id],
    );
    expect(statuses).toEqual([
      { name: 'flaky', status: 'failed' },
      { name: 'after', status: 'canceled' },
    ]);
    expect(existsSync(path.join(dir, 'recovery.log'))).toBe(false);
  });

  it('a failing recovery script fails the job', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'sluice-retry-'));
    const spec = specIn(dir, 12, 'echo cannot recover >&2; exit 4');
    const r = await runCli(['run', spec, ...FAST], { env: env(), cwd: dir });
    expect(r.code).toBe(1);
    const id = idOf(r.stderr);
    const rows = await t.query<{ attempt_id: number; status: string; return_code: number; message: string | null }>(
      'SELECT attempt_id, status::text, return_code, message FROM sluice.results WHERE workflow_id = $1 ORDER BY id',
      [id],
    );
    expect(rows).toEqual([
      { attempt_id: 1, status: 'failed', return_code: 12, message: null },
      { attempt_id: 2, status: 'failed', return_code: 4, message: expect.stringMatching(/recovery script exited 4/) },
    ]);
    // The job's command did not run again: the counter stayed at its first attempt.
    expect(readFileSync(path.join(dir, 'count'), 'utf8').trim()).toBe('1');
  });

  it('a worker killed between a failure and its retry loses nothing: the next worker runs the retry', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'sluice-retry-'));
    const spec = specIn(dir, 12, 'true');
    const created = await runCli(['workflows', 'create', spec, '--json'], { env: env(), cwd: dir });
    const id = JSON.parse(created.stdout).id as number;
    await runCli(['workflows', 'initialize', String(id)], { env: env() });
    const first = spawnCli(['worker', String(id), ...FAST, '--heartbeat-timeout', '1'], { env: env(), cwd: dir });
    // The failure is recorded, and the retry decided, in one transaction: kill the worker then.
    await waitFor('the first failure to be recorded', async () => (await results(id)).length > 0);
    first.child.kill('SIGKILL');
    await first.exited;
    const jobs = await t.query<{ status: string; attempt_id: number }>(
      "SELECT status::text, attempt_id FROM sluice.jobs WHERE workflow_id = $1 AND name = 'flaky'",
      [id],
    );
    expect(['ready', 'running', 'terminated', 'completed', 'failed']).toContain(jobs[0]?.status);
    expect(jobs[0]?.attempt_id).toBeGreaterThanOrEqual(2);
    const second = await runCli(['worker', String(id), ...FAST], { env: env(), cwd: dir });
    expect(second.code, second.stderr).toBe(0);
    const done = (await results(id)).filter((x) => x.name === 'flaky');
    if (done.some((x) => x.status === 'terminated')) {
      // The kill caught a retry already running (attempt 2, or attempt 3 when attempt 2 had
      // failed by then): it ended terminated, like any job of a dead worker; no retry was lost.
      const last = done.length;
      expect(last === 2 || last === 3, JSON.stringify(done)).toBe(true);
      expect(done.map((x) => [x.attempt_id, x.status])).toEqual([
        ...Array.from({ length: last - 1 }, (_, i) => [i + 1, 'failed']),
        [last, 'terminated'],
      ]);
      return;
    }
    expect(done.map((x) => x.status)).toEqual(['failed', 'failed', 'completed']);
    expect(done.map((x) => x.attempt_id)).toEqual([1, 2, 3]);
  });
});
