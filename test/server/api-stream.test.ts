import { apiTokensCreate, apiTokensRevoke } from '@sluice/core';
import { buildApp } from '@sluice/server';
import pg from 'pg';
import { beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../support/cli-runner.js';
import { useTestDatabase } from '../support/test-database.js';
import { bearer, openEventStream, type SseClient, useServerSite, yamlSpec } from './server-test-support.js';

// Server-sent events over real HTTP: one LISTEN connection fans out to every stream, a slow
// poll catches events nobody notified, each stream reads as its user, and streams resume
// from Last-Event-ID.

const t = useTestDatabase('server_stream');
const site = useServerSite(t, ['dana', 'erin'], {
  events: { heartbeatIntervalMs: 200, reauthenticateMs: 300 },
});
let base: string;
let id: number;

const api = (user: 'dana' | 'erin', method: 'GET' | 'POST' | 'DELETE', url: string, payload?: string) =>
  site.app().inject({
    method,
    url: `/api/v1${url}`,
    headers: { ...site.users[user]?.auth, ...(payload ? { 'content-type': 'application/yaml' } : {}) },
    payload,
  });

const stream = (wf: number, headers: Record<string, string>, query = '') =>
  openEventStream(`${base}/api/v1/workflows/${wf}/events/stream${query}`, headers);

const eventOf = (s: SseClient, kind: string) =>
  waitFor(`a ${kind} event`, async () => s.events().find((e) => e.event === kind), 20_000);

beforeAll(async () => {
  base = await site.app().listen({ host: '127.0.0.1', port: 0 });
  id = (await api('dana', 'POST', '/workflows', yamlSpec('streamed'))).json().id;
});

describe('GET /workflows/{id}/events/stream', () => {
  it('sends the events so far, then new ones as they happen', async () => {
    const s = await stream(id, site.users.dana!.auth);
    try {
      expect(s.status).toBe(200);
      expect(s.contentType).toMatch(/^text\/event-stream/);
      const created = await eventOf(s, 'workflow_created');
      const [row] = (await api('dana', 'GET', `/workflows/${id}/events`)).json().items;
      expect(created.id).toBe(String(row.id));
      expect(JSON.parse(created.data as string)).toEqual(row);
      expect(s.frames[0]).toEqual({ retry: '2000' });

      // Notified: initialize signals the workflow-state channel.
      expect((await api('dana', 'POST', `/workflows/${id}/initialize`)).statusCode).toBe(200);
      await eventOf(s, 'workflow_initialized');
      // Not notified: the slow poll finds it.
      await t.query("INSERT INTO sluice.events (workflow_id, kind, data) VALUES ($1, 'worker_started', $2)", [
        id,
        JSON.stringify({ note: 'polled' }),
      ]);
      const polled = await eventOf(s, 'worker_started');
      expect(JSON.parse(polled.data as string).data).toEqual({ note: 'polled' });
      const ids = s.events().map((e) => Number(e.id));
      expect(ids).toEqual([...ids].sort((a, b) => a - b));
      expect(new Set(ids).size).toBe(ids.length);
      await waitFor('a heartbeat', async () => s.frames.some((f) => f.comment === 'heartbeat'));
    } finally {
      s.close();
    }
  });

  it('resumes after Last-Event-ID, or after ?after=', async () => {
    const all = (await api('dana', 'GET', `/workflows/${id}/events`)).json().items.map((e: { id: number }) => e.id);
    expect(all.length).toBeGreaterThanOrEqual(3);
    const resumed = await stream(id, { ...site.users.dana!.auth, 'last-event-id': String(all[0]) });
    const fromQuery = await stream(id, site.users.dana!.auth, `?after=${all[1]}`);
    try {
      await waitFor('the resumed events', async () => resumed.events().length >= all.length - 1);
      await waitFor('the events after ?after=', async () => fromQuery.events().length >= all.length - 2);
      expect(resumed.events().map((e) => Number(e.id))).toEqual(all.slice(1));
      expect(fromQuery.events().map((e) => Number(e.id))).toEqual(all.slice(2));
    } finally {
      resumed.close();
      fromQuery.close();
    }
  });

  it('never skips an event whose transaction commits after a later one', async () => {
    // An app of its own that holds events long: the test keeps a transaction open on purpose.
    const patient = buildApp({ db: site.serverHandle(), events: { heartbeatIntervalMs: 200, maxHoldMs: 60_000 } });
    const url = await patient.listen({ host: '127.0.0.1', port: 0 });
    const s = await openEventStream(`${url}/api/v1/workflows/${id}/events/stream`, site.users.dana!.auth);
    const slow = new pg.Client({ connectionString: t.url });
    await slow.connect();
    try {
      await eventOf(s, 'workflow_created');
      // The lower id stays uncommitted while a higher one commits and the hub is woken.
      await slow.query('BEGIN');
      const [low] = (
        await slow.query("INSERT INTO sluice.events (workflow_id, kind) VALUES ($1, 'worker_lost') RETURNING id", [id])
      ).rows;
      const [high] = await t.query<{ id: number }>(
        "INSERT INTO sluice.events (workflow_id, kind) VALUES ($1, 'worker_stopped') RETURNING id",
        [id],
      );
      expect(Number(high?.id)).toBeGreaterThan(Number(low.id));
      await t.query('SELECT pg_notify($1, $2)', ['sluice_workflow_state', String(id)]);
      const beats = s.frames.filter((f) => f.comment === 'heartbeat').length;
      await waitFor(
        'two heartbeats',
        async () => s.frames.filter((f) => f.comment === 'heartbeat').length >= beats + 2,
      );
      await slow.query('COMMIT');
      await eventOf(s, 'worker_stopped');
      const ids = s.events().map((e) => Number(e.id));
      expect(ids).toContain(Number(low.id));
      expect(ids.indexOf(Number(low.id))).toBeLessThan(ids.indexOf(Number(high?.id)));
    } finally {
      await slow.end();
      s.close();
      await patient.close();
    }
  });

  it('feeds every stream from one LISTEN connection', async () => {
    const streams = await Promise.all([1, 2, 3].map(() => stream(id, site.users.dana!.auth)));
    try {
      await Promise.all(streams.map((s) => eventOf(s, 'workflow_created')));
      // (The previous test's app has closed its own; its backend may take a moment to go.)
      const listeners = async () =>
        (
          await t.query<{ n: number }>(
            `SELECT count(*)::int AS n FROM pg_stat_activity
              WHERE datname = current_database() AND application_name = 'sluice-listener' AND usename = $1`,
            [site.serverRole],
          )
        )[0]?.n;
      await waitFor('one LISTEN connection', async () => (await listeners()) === 1);
    } finally {
      for (const s of streams) s.close();
    }
  });

  it('sends wake frames, without ids, for the workflow’s notifications when asked (?wake=true)', async () => {
    const wf = (await api('dana', 'POST', '/workflows', yamlSpec('woken'))).json().id;
    const woken = await stream(wf, site.users.dana!.auth, '?wake=true');
    const plain = await stream(wf, site.users.dana!.auth);
    try {
      await eventOf(woken, 'workflow_created');
      await eventOf(plain, 'workflow_created');
      expect(woken.frames.some((f) => f.event === 'wake')).toBe(false);
      // Initializing notifies the workflow-state channel and, with ready jobs, the jobs-ready one.
      expect((await api('dana', 'POST', `/workflows/${wf}/initialize`)).statusCode).toBe(200);
      await eventOf(woken, 'workflow_initialized');
      await eventOf(plain, 'workflow_initialized');
      const wakes = await waitFor('two wake frames', async () => {
        const w = woken.frames.filter((f) => f.event === 'wake');
        return w.length >= 2 && w;
      });
      expect(wakes.every((f) => f.id === undefined)).toBe(true);
      expect(wakes.map((f) => JSON.parse(f.data as string).channel).sort()).toEqual([
        'sluice_jobs_ready',
        'sluice_workflow_state',
      ]);
      expect(plain.frames.some((f) => f.event === 'wake')).toBe(false);
      // Another workflow's notification wakes its own streams (all in the same turn), not this one.
      const other = (await api('dana', 'POST', '/workflows', yamlSpec('other'))).json().id;
      const watcher = await stream(other, site.users.dana!.auth, '?wake=true');
      await eventOf(watcher, 'workflow_created');
      expect((await api('dana', 'POST', `/workflows/${other}/initialize`)).statusCode).toBe(200);
      await waitFor('the other workflow’s wake frame', async () => watcher.frames.some((f) => f.event === 'wake'));
      watcher.close();
      expect(woken.frames.filter((f) => f.event === 'wake')).toHaveLength(2);
    } finally {
      woken.close();
      plain.close();
    }
  });

  it('sends only wake frames with ?events=false, and still ends it when its token is revoked or its workflow deleted', async () => {
    const dana = site.users.dana!;
    const wf = (await api('dana', 'POST', '/workflows', yamlSpec('wake-only'))).json().id;
    const extra = await apiTokensCreate(dana.handle.db, 'wake-only', null);
    const s = await stream(wf, bearer(extra.token), '?wake=true&events=false');
    const d = await stream(wf, dana.auth, '?wake=true&events=false');
    try {
      expect(s.status).toBe(200);
      await waitFor('the first frame', async () => s.frames.length > 0 && d.frames.length > 0);
      expect((await api('dana', 'POST', `/workflows/${wf}/initialize`)).statusCode).toBe(200);
      const wakes = await waitFor('two wake frames', async () => {
        const w = s.frames.filter((f) => f.event === 'wake');
        return w.length >= 2 && w;
      });
      expect(wakes.map((f) => JSON.parse(f.data as string).channel).sort()).toEqual([
        'sluice_jobs_ready',
        'sluice_workflow_state',
      ]);
      // The workflow has events (created, initialized): none of them reach these streams.
      expect(s.frames.filter((f) => f.id !== undefined || (f.event !== undefined && f.event !== 'wake'))).toEqual([]);
      await apiTokensRevoke(dana.handle.db, extra.row.id);
      await waitFor('the end of the revoked token’s stream', async () => s.isEnded());
      expect(d.isEnded()).toBe(false);
      expect((await api('dana', 'DELETE', `/workflows/${wf}`)).statusCode).toBe(204);
      await waitFor('the end of the deleted workflow’s stream', async () => d.isEnded());
    } finally {
      s.close();
      d.close();
    }
  });

  it('answers 404 for another user’s workflow and 401 without a token', async () => {
    const theirs = await stream(id, site.users.erin!.auth);
    expect(theirs.status).toBe(404);
    expect(theirs.contentType).toMatch(/^application\/problem\+json/);
    expect(JSON.parse(theirs.text as string)).toMatchObject({ code: 'WORKFLOW_NOT_FOUND' });
    expect((await stream(id, {})).status).toBe(401);
  });

  it('ends the stream when its token is revoked, or its workflow deleted', async () => {
    const dana = site.users.dana!;
    const extra = await apiTokensCreate(dana.handle.db, 'stream', null);
    const s = await stream(id, bearer(extra.token));
    await eventOf(s, 'workflow_created');
    expect(s.isEnded()).toBe(false);
    await apiTokensRevoke(dana.handle.db, extra.row.id);
    await waitFor('the end of the revoked token’s stream', async () => s.isEnded());

    const doomed = (await api('dana', 'POST', '/workflows', yamlSpec('doomed'))).json().id;
    const d = await stream(doomed, dana.auth);
    await eventOf(d, 'workflow_created');
    expect((await api('dana', 'DELETE', `/workflows/${doomed}`)).statusCode).toBe(204);
    await waitFor('the end of the deleted workflow’s stream', async () => d.isEnded());
  });

  it('ends open streams and its LISTEN connection when the app closes', async () => {
    const own = buildApp({ db: site.serverHandle() });
    const url = await own.listen({ host: '127.0.0.1', port: 0 });
    const s = await openEventStream(`${url}/api/v1/workflows/${id}/events/stream`, site.users.dana!.auth);
    await eventOf(s, 'workflow_created');
    await own.close();
    await s.ended;
    expect(s.isEnded()).toBe(true);
    // Only the shared app's listener is left.
    await waitFor('the closed app’s LISTEN connection to go', async () => {
      const rows = await t.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_stat_activity
          WHERE datname = current_database() AND application_name = 'sluice-listener'`,
      );
      return rows[0]?.n === 1;
    });
  });
});
