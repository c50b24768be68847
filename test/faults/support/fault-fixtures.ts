import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openPool, type ResolvedWorkflow, workflowsCreate, workflowsInitialize } from '@sluice/core';
import type { TestDatabase } from '../../support/test-database.js';

export function tmpDir(label = 'sluice-faults-'): string {
  return mkdtempSync(path.join(os.tmpdir(), label));
}

/** Creates the workflow and starts run 1. */
export async function createInitialized(t: TestDatabase, wf: ResolvedWorkflow): Promise<number> {
  const id = await workflowsCreate(t.handle.db, wf);
  await workflowsInitialize(t.handle.db, id);
  return id;
}

export interface JobState {
  id: number;
  name: string;
  status: string;
  worker_id: number | null;
  attempt: number;
  unfinished_deps: number;
}

export async function jobsOf(t: TestDatabase, workflowId: number): Promise<JobState[]> {
  return t.query<JobState>(
    'SELECT id, name, status::text, worker_id, attempt, unfinished_deps FROM sluice.jobs WHERE workflow_id = $1 ORDER BY id',
    [workflowId],
  );
}

export async function jobByName(t: TestDatabase, workflowId: number, name: string): Promise<JobState> {
  const j = (await jobsOf(t, workflowId)).find((x) => x.name === name);
  if (!j) throw new Error(`no job ${name} in workflow ${workflowId}`);
  return j;
}

/** Polls `probe` until it holds or `timeoutMs` passes; false on timeout (for tests that report what they saw). */
export async function eventually(probe: () => Promise<boolean> | boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  let delay = 20;
  for (;;) {
    if (await probe()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 250);
  }
}

/** Resolves with the promise's value, or with `onTimeout` after `ms`. */
export function within<T, U>(p: Promise<T>, ms: number, onTimeout: U): Promise<T | U> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => resolve(onTimeout), ms);
    p.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}

/** A short description of the workflow's state, for failure messages. */
export async function describeWorkflow(t: TestDatabase, workflowId: number): Promise<string> {
  const jobs = await t.query<{ status: string; worker_status: string | null; n: number }>(
    `SELECT j.status::text, k.status::text AS worker_status, count(*)::int AS n
       FROM sluice.jobs j LEFT JOIN sluice.workers k ON k.id = j.worker_id
      WHERE j.workflow_id = $1 GROUP BY 1, 2 ORDER BY 1, 2`,
    [workflowId],
  );
  const actions = await t.query<{ trigger_type: string; status: string }>(
    'SELECT trigger_type::text, status::text FROM sluice.workflow_actions WHERE workflow_id = $1 ORDER BY id',
    [workflowId],
  );
  const j = jobs.map((r) => `${r.n} ${r.status}${r.worker_status ? ` (worker ${r.worker_status})` : ''}`).join(', ');
  const a = actions.map((r) => `${r.trigger_type}:${r.status}`).join(', ');
  return `jobs: ${j || 'none'}${a ? `; actions: ${a}` : ''}`;
}

/** A TestDatabase over a database the test created itself (on a server of its own, say). */
export function openTestDatabase(name: string, url: string): TestDatabase {
  const handle = openPool(url, { max: 4 });
  return {
    name,
    url,
    handle,
    async query(text, params) {
      return (await handle.pool.query(text, params as unknown[])).rows;
    },
  };
}
