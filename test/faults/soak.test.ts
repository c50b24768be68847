import { afterAll, describe, expect, it } from 'vitest';
import { useTestDatabase } from '../support/test-database.js';
import { createInitialized, describeWorkflow, tmpDir } from './support/fault-fixtures.js';
import { FaultProxy } from './support/fault-proxy.js';
import { expectInvariants, isComplete, statusCounts } from './support/invariants.js';
import { JobLedger } from './support/job-ledger.js';
import { expectLedgerConsistent } from './support/ledger-checks.js';
import { killAllWorkers, sluice, startWorker, type WorkerProcess } from './support/worker-process.js';
import { layeredWorkflow, seededRandom } from './support/workload.js';

// Finding 16: everything at once. ~2,000 short jobs with dependencies, 30 actions of every
// trigger, 4 workers each behind its own proxy, and a chaos loop that SIGKILLs and restarts
// workers, cuts and restores their connections and terminates backends. Then everything is
// restored, the workflow is driven to completion (terminated jobs reset and rerun), and every
// invariant is checked, from the database and from the ledger.
// SLUICE_SOAK_SEED replays a run; SLUICE_SOAK_SECONDS sets the chaos time (default 75).

const t = useTestDatabase('faults_soak');
const SEED = Number(process.env.SLUICE_SOAK_SEED ?? Math.floor(Math.random() * 1e9));
const CHAOS_MS = Number(process.env.SLUICE_SOAK_SECONDS ?? 75) * 1000;
const JOBS = 2000;
const SLOTS = 4;
const ARGS = [
  '--max-parallel-jobs',
  '4',
  '--poll-interval',
  '2',
  '--heartbeat-interval',
  '1',
  '--heartbeat-timeout',
  '6',
];

const ledger = new JobLedger();
const proxies: FaultProxy[] = [];

afterAll(async () => {
  for (const p of proxies) p.restore();
  await killAllWorkers();
  ledger.killAll();
  for (const p of proxies) await p.close();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('soak', () => {
  it(`chaos, then completion with every invariant intact (seed ${SEED})`, { timeout: 1_200_000 }, async () => {
    process.stderr.write(`soak seed ${SEED} (replay with SLUICE_SOAK_SEED=${SEED})\n`);
    const rnd = seededRandom(SEED);
    const pick = <T>(xs: T[]): T => xs[Math.floor(rnd() * xs.length)] as T;
    const dir = tmpDir();
    const wf = layeredWorkflow(ledger, {
      jobs: JOBS,
      width: 100,
      work: 'sleep 0.05',
      actionsPerTrigger: 5,
      seed: SEED,
    });
    const id = await createInitialized(t, wf);
    for (let i = 0; i < SLOTS; i++) proxies.push(await FaultProxy.start(t.url));
    const workers: (WorkerProcess | null)[] = Array.from({ length: SLOTS }, () => null);
    const start = (slot: number) => {
      workers[slot] = startWorker(id, { url: (proxies[slot] as FaultProxy).url(t.url), cwd: dir, args: ARGS });
    };
    const live = () => workers.map((w, i) => (w && w.exitCode === undefined ? i : -1)).filter((i) => i >= 0);
    for (let i = 0; i < SLOTS; i++) start(i);

    const log: string[] = [];
    const restoreAt = new Map<number, number>();
    const chaosEnd = Date.now() + CHAOS_MS;
    while (Date.now() < chaosEnd && !(await isComplete(t.query, id))) {
      await sleep(200 + rnd() * 800);
      for (const [slot, at] of restoreAt) {
        if (Date.now() >= at) {
          proxies[slot]?.restore();
          restoreAt.delete(slot);
          log.push(`restore ${slot}`);
        }
      }
      const choice = rnd();
      const alive = live();
      if (choice < 0.2 && alive.length > 0) {
        const slot = pick(alive);
        const group = rnd() < 0.5;
        if (group) workers[slot]?.killGroup('SIGKILL');
        else workers[slot]?.kill('SIGKILL');
        log.push(`kill${group ? ' group' : ''} ${slot}`);
      } else if (choice < 0.35) {
        const slot = Math.floor(rnd() * SLOTS);
        proxies[slot]?.cut();
        restoreAt.set(slot, Date.now() + 1000 + rnd() * 9000);
        log.push(`cut ${slot}`);
      } else if (choice < 0.65) {
        const slot = Math.floor(rnd() * SLOTS);
        proxies[slot]?.reset();
        log.push(`reset ${slot}`);
      } else if (choice < 0.8) {
        const app = rnd() < 0.5 ? 'sluice-worker' : 'sluice-listener';
        await t.query(
          `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
            WHERE datname = current_database() AND application_name = $1 AND pid <> pg_backend_pid()`,
          [app],
        );
        log.push(`terminate ${app}`);
      }
      // Dead workers come back (the workflow may also have been declared complete meanwhile).
      for (let slot = 0; slot < SLOTS; slot++) {
        if (!live().includes(slot) && rnd() < 0.6) {
          start(slot);
          log.push(`start ${slot}`);
        }
      }
    }
    const context = `seed ${SEED}; chaos: ${log.join(', ')}`;

    // Everything restored: drive the workflow to completion, rerunning what was terminated.
    for (const p of proxies) p.restore();
    restoreAt.clear();
    const deadline = Date.now() + 480_000;
    let allDone = false;
    while (Date.now() < deadline) {
      const counts = await statusCounts(t.query, id);
      if (counts.completed === JOBS && Object.keys(counts).length === 1) {
        allDone = true;
        break;
      }
      if (live().length === 0 && (await isComplete(t.query, id))) {
        const reset = await sluice(t.url, ['workflows', 'reset-status', String(id), '--failed-only']);
        if (reset.code === 0) {
          const reinit = await sluice(t.url, ['workflows', 'reinitialize', String(id)]);
          expect(reinit.code, `${reinit.stderr}; ${context}`).toBe(0);
        }
      }
      for (let slot = 0; slot < SLOTS; slot++) if (!live().includes(slot)) start(slot);
      await sleep(2000);
    }
    expect(allDone, `not every job completed: ${await describeWorkflow(t, id)}; ${context}`).toBe(true);
    await Promise.all(live().map((slot) => workers[slot]?.exited));
    await expectInvariants(t.query, id, context);
    await expectLedgerConsistent(t.query, id, ledger, { allowReruns: true, context });
  });
});
