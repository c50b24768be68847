import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { type SpawnedCli, spawnCli, waitFor } from '../support/cli-runner.js';
import { useTestDatabase } from '../support/test-database.js';
import { openEventStream, useServerSite } from './server-test-support.js';

// End to end: `sluice server` as a process, connected as a sluice_server member; a user creates
// and initializes a workflow over HTTP, runs it with a `sluice worker` of their own, follows it
// on the event stream and resumes the stream from Last-Event-ID; SIGTERM stops the server
// cleanly with open streams.

const t = useTestDatabase('server_process');
const site = useServerSite(t, ['fred']);
let server: SpawnedCli | undefined;

afterAll(async () => {
  if (server && server.child.exitCode === null) {
    server.child.kill('SIGKILL');
    await server.exited;
  }
});

const SPEC = `name: e2e
jobs:
  - name: first
    command: echo one
  - name: second
    command: echo two
    depends_on: [first]
  - name: third
    command: echo three
    depends_on: [first]
`;

describe('sluice server', () => {
  it('serves a user who runs a workflow and follows its events, then stops on SIGTERM', async () => {
    const fred = site.users.fred!;
    server = spawnCli(['server', '--port', '0'], { env: { SLUICE_DATABASE_URL: site.serverUrl } });
    const spawned = server;
    const base = await waitFor('the server to say where it listens', async () => {
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(spawned.output().stderr);
      if (!m && spawned.child.exitCode !== null) throw new Error(`server exited: ${spawned.output().stderr}`);
      return m?.[1];
    });
    expect(spawned.output().stderr).toContain(`database role ${site.serverRole}`);
    const call = async (method: string, url: string, body?: string, contentType?: string) => {
      const headers: Record<string, string> = { ...fred.auth };
      if (contentType) headers['content-type'] = contentType;
      const r = await fetch(`${base}/api/v1${url}`, { method, headers, body: body ?? null });
      // biome-ignore lint/suspicious/noExplicitAny: the test reads whatever JSON came back
      return { status: r.status, json: (await r.json()) as any };
    };

    expect((await fetch(`${base}/health`)).status).toBe(200);
    const created = await call('POST', '/workflows', SPEC, 'application/yaml');
    expect(created.status, JSON.stringify(created.json)).toBe(201);
    const id: number = created.json.id;
    expect(created.json).toMatchObject({ name: 'e2e', owner: fred.role, num_jobs: 3 });
    expect((await call('POST', `/workflows/${id}/initialize`)).json).toEqual({ id, run_id: 1 });

    const live = await openEventStream(`${base}/api/v1/workflows/${id}/events/stream`, fred.auth);
    expect(live.status).toBe(200);

    const dir = mkdtempSync(path.join(os.tmpdir(), 'sluice-server-e2e-'));
    const worker = await spawnCli(['worker', String(id), '--output-dir', 'out', '--poll-interval', '1'], {
      env: { SLUICE_DATABASE_URL: fred.url },
      cwd: dir,
    }).exited;
    expect(worker.code, worker.stderr).toBe(0);

    // The worker has exited: every event is in the table, and the stream delivers them all, in order.
    const all = (await call('GET', `/workflows/${id}/events?limit=1000`)).json.items.map((e: { id: number }) =>
      String(e.id),
    );
    await waitFor('every event on the stream', async () => live.events().length >= all.length, 30_000);
    const seen = live.events();
    expect(seen.map((e) => e.id)).toEqual(all);
    expect(seen.map((e) => e.event)).toEqual(
      expect.arrayContaining(['workflow_created', 'workflow_initialized', 'workflow_completed']),
    );
    const finished = seen.filter((e) => e.event === 'job_finished');
    expect(finished).toHaveLength(3);
    const firstFinish = finished[0] as { id: string; data: string };
    expect(JSON.parse(firstFinish.data)).toMatchObject({ kind: 'job_finished', id: Number(firstFinish.id) });

    // Resume after the first job_finished: exactly the events that came after it.
    const tail = all.slice(all.indexOf(firstFinish.id) + 1);
    const resumed = await openEventStream(`${base}/api/v1/workflows/${id}/events/stream`, {
      ...fred.auth,
      'last-event-id': firstFinish.id,
    });
    await waitFor('the resumed stream to catch up', async () => resumed.events().length >= tail.length);
    expect(resumed.events().map((e) => e.id)).toEqual(tail);
    live.close();

    const status = await call('GET', `/workflows/${id}/status`);
    expect(status.json).toMatchObject({ is_complete: true, job_counts: { completed: 3 } });
    const results = await call('GET', `/workflows/${id}/results?limit=2`);
    expect(results.json.items).toHaveLength(2);
    const rest = await call('GET', `/workflows/${id}/results?after=${results.json.next_after}`);
    expect(rest.json).toMatchObject({ next_after: null });
    expect(rest.json.items).toHaveLength(1);

    // SIGTERM with a stream open and a request in flight (waiting for the workflow's lock, held
    // here): the request is finished, the stream ends, the server exits 0.
    const blocker = new pg.Client({ connectionString: t.url });
    await blocker.connect();
    await blocker.query('BEGIN');
    await blocker.query('SELECT id FROM sluice.workflows WHERE id = $1 FOR UPDATE', [id]);
    const inFlight = call('POST', `/workflows/${id}/cancel`);
    await waitFor('the cancel request to wait for the lock', async () => {
      const rows = await t.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_stat_activity
          WHERE datname = current_database() AND application_name = 'sluice-server' AND wait_event_type = 'Lock'`,
      );
      return rows[0]?.n === 1;
    });
    spawned.child.kill('SIGTERM');
    await waitFor('the server to begin stopping', async () => spawned.output().stderr.includes('received SIGTERM'));
    await blocker.query('COMMIT');
    await blocker.end();
    expect(await inFlight).toEqual({
      status: 200,
      json: { id, canceled_jobs: 0, allocations: [], problem: null },
    });
    const exit = await spawned.exited;
    await resumed.ended;
    expect(resumed.isEnded()).toBe(true);
    expect(exit.code, exit.stderr).toBe(0);
    expect(exit.stderr).toContain('received SIGTERM: stopping');
    expect(exit.stderr).toContain('sluice server stopped');
    // Its pool and LISTEN connection are gone with it (the site's in-process app opened no listener).
    await waitFor('the server’s connections to close', async () => {
      const rows = await t.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_stat_activity
          WHERE datname = current_database() AND application_name IN ('sluice-server', 'sluice-listener')`,
      );
      return rows[0]?.n === 0;
    });
  });

  it('refuses to serve as a role that may not authenticate tokens', async () => {
    const r = await spawnCli(['server', '--port', '0'], { env: { SLUICE_DATABASE_URL: site.users.fred?.url } }).exited;
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe(
      `sluice: role "${site.users.fred?.role}" may not authenticate API tokens: connect the server as a member of sluice_server (GRANT sluice_server TO ${site.users.fred?.role})`,
    );
  });
});
