import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { workersRegister, workersStop } from '@sluice/core';
import { buildApp } from '@sluice/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, spawnCli, waitFor } from '../support/cli-runner.js';
import { useTestDatabase } from '../support/test-database.js';
import { bearer, useServerSite, yamlSpec } from './server-test-support.js';

// A worker's heartbeat through the server (`sluice worker --wake sse`): behind a pooler the
// worker's own connection queues its beats behind every worker's claims; the server's do not.

const t = useTestDatabase('server_workers');
const site = useServerSite(t, ['alice', 'bob']);
const yaml = { 'content-type': 'application/yaml' };

let aliceWorkflow: number;

beforeAll(async () => {
  const r = await site.app().inject({
    method: 'POST',
    url: '/api/v1/workflows',
    headers: { ...site.users.alice?.auth, ...yaml },
    payload: yamlSpec('alice-beats'),
  });
  expect(r.statusCode, r.body).toBe(201);
  aliceWorkflow = r.json().id;
});

async function register(): Promise<number> {
  const { id } = await workersRegister(site.users.alice!.handle.db, {
    workflowId: aliceWorkflow,
    hostname: 'node-1',
    pid: 4242,
    osUser: 'alice',
    numCpus: 1,
    memoryBytes: 1 << 30,
    numGpus: 0,
    numNodes: 1,
    maxParallelJobs: null,
    endsAt: null,
    heartbeatTimeoutSeconds: 20,
  });
  // An hour of silence, so that a renewal shows.
  await t.query(`UPDATE sluice.workers SET heartbeat_at = now() - interval '1 hour' WHERE id = $1`, [id]);
  return id;
}

const silenceSeconds = async (id: number) =>
  Number(
    (
      await t.query<{ s: number }>(
        'SELECT extract(epoch FROM now() - heartbeat_at) AS s FROM sluice.workers WHERE id = $1',
        [id],
      )
    )[0]?.s,
  );

const beat = (id: number, headers: Record<string, string> | undefined) =>
  site.app().inject({ method: 'POST', url: `/api/v1/workers/${id}/heartbeat`, headers });

describe('POST /api/v1/workers/{id}/heartbeat', () => {
  it('renews the owner’s running worker and answers its status', async () => {
    const id = await register();
    const r = await beat(id, site.users.alice?.auth);
    expect(r.statusCode, r.body).toBe(200);
    expect(r.json()).toEqual({ id, status: 'running' });
    expect(await silenceSeconds(id)).toBeLessThan(60);
  });

  it('gives another user a 404, exactly as for a worker that does not exist, and renews nothing', async () => {
    const id = await register();
    for (const wid of [id, 987654321]) {
      const r = await beat(wid, site.users.bob?.auth);
      expect(r.statusCode, r.body).toBe(404);
      expect(r.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(r.json()).toMatchObject({ code: 'WORKER_NOT_FOUND', detail: `worker ${wid} does not exist` });
    }
    expect(await silenceSeconds(id)).toBeGreaterThan(3000);
  });

  it('does not renew a stopped worker: it answers the status, which tells the worker to stop', async () => {
    const id = await register();
    await workersStop(site.users.alice!.handle.db, id);
    const before = await silenceSeconds(id);
    const r = await beat(id, site.users.alice?.auth);
    expect(r.statusCode, r.body).toBe(200);
    expect(r.json()).toEqual({ id, status: 'stopped' });
    expect(await silenceSeconds(id)).toBeGreaterThanOrEqual(before);
  });

  it('answers 401 without a token and 400 for an id that is not one', async () => {
    const id = await register();
    expect((await beat(id, undefined)).statusCode).toBe(401);
    expect((await beat(id, bearer('slc_nope'))).statusCode).toBe(401);
    const bad = await site.app().inject({
      method: 'POST',
      url: '/api/v1/workers/x1/heartbeat',
      headers: site.users.alice?.auth,
    });
    expect(bad.statusCode).toBe(400);
    expect(await silenceSeconds(id)).toBeGreaterThan(3000);
  });
});

/** A created and initialized workflow of alice's with one job, made through the CLI in a directory of its own. */
async function aliceRunsOneJob(name: string, command: string) {
  const dir = mkdtempSync(path.join(os.tmpdir(), `sluice-${name}-`));
  const specFile = path.join(dir, 'spec.yaml');
  writeFileSync(specFile, `name: ${name}\njobs:\n  - name: slow\n    command: ${command}\n`);
  const env = { SLUICE_DATABASE_URL: site.users.alice!.url };
  const created = await runCli(['workflows', 'create', specFile, '--json'], { env, cwd: dir });
  expect(created.code, created.stderr).toBe(0);
  const id = Number(JSON.parse(created.stdout).id);
  expect((await runCli(['workflows', 'initialize', String(id)], { env, cwd: dir })).code).toBe(0);
  return { dir, id, env };
}

describe('sluice worker --wake sse', () => {
  // A server of its own, over real HTTP, that counts the beats it answers.
  let app: ReturnType<typeof buildApp> | undefined;
  const beats = new Map<number, number>();
  afterAll(async () => {
    await app?.close();
  });

  it('beats through the server, not its own database connection, and runs the workflow', async () => {
    app = buildApp({ db: site.serverHandle() });
    app.addHook('onResponse', async (req, reply) => {
      const m = /^\/api\/v1\/workers\/(\d+)\/heartbeat$/.exec(req.url);
      if (m && reply.statusCode === 200) beats.set(Number(m[1]), (beats.get(Number(m[1])) ?? 0) + 1);
    });
    const base = await app.listen({ host: '127.0.0.1', port: 0 });
    const alice = site.users.alice!;
    const { dir, id, env } = await aliceRunsOneJob('sse-beats', 'sleep 1.5');

    const worker = spawnCli(
      ['worker', String(id), '--wake', 'sse', '--heartbeat-interval', '0.2', '--output-dir', 'out'],
      { env: { ...env, SLUICE_SERVER_URL: base, SLUICE_API_TOKEN: alice.token }, cwd: dir },
    );
    const exit = await worker.exited;
    expect(exit.code, exit.stderr).toBe(0);
    expect(exit.stderr).not.toMatch(/\[worker (error|warn)\]/);
    const workerId = Number(
      (await t.query<{ id: number }>('SELECT id FROM sluice.workers WHERE workflow_id = $1', [id]))[0]?.id,
    );
    // 1.5 s of job at a beat every 0.2 s: several beats, every one through the server.
    await waitFor('the beats to be counted', async () => (beats.get(workerId) ?? 0) >= 3);
    const job = await t.query<{ status: string }>('SELECT status::text FROM sluice.jobs WHERE workflow_id = $1', [id]);
    expect(job).toEqual([{ status: 'completed' }]);
  });

  it('beats through the database when the server goes away, and is not fenced for it', async () => {
    const gone = buildApp({ db: site.serverHandle() });
    const base = await gone.listen({ host: '127.0.0.1', port: 0 });
    const alice = site.users.alice!;
    const { dir, id, env } = await aliceRunsOneJob('sse-fallback', 'sleep 4');
    // A 2 s timeout: a worker that stopped beating would fence itself well before its job ends.
    const worker = spawnCli(
      ['worker', String(id), '--wake', 'sse', '--heartbeat-interval', '0.2', '--heartbeat-timeout', '2'],
      { env: { ...env, SLUICE_SERVER_URL: base, SLUICE_API_TOKEN: alice.token }, cwd: dir },
    );
    await waitFor('the job to start', async () => {
      const r = await t.query<{ status: string }>('SELECT status::text FROM sluice.jobs WHERE workflow_id = $1', [id]);
      return r[0]?.status === 'running';
    });
    const closing = gone.close();
    gone.server.closeAllConnections();
    await closing;
    const exit = await worker.exited;
    expect(exit.code, exit.stderr).toBe(0);
    expect(exit.stderr).toMatch(
      /heartbeat through http:\/\/127\.0\.0\.1:\d+ failed \(.*\); beating through the database/,
    );
    expect(exit.stderr).not.toMatch(/fencing/);
    const job = await t.query<{ status: string }>('SELECT status::text FROM sluice.jobs WHERE workflow_id = $1', [id]);
    expect(job).toEqual([{ status: 'completed' }]);
  });
});
