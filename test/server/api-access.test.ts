import { apiTokensCreate, apiTokensRevoke } from '@sluice/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { useTestDatabase } from '../support/test-database.js';
import { bearer, useServerSite, yamlSpec } from './server-test-support.js';

// Who may do what through the API: tokens authenticate, PostgreSQL's row-level security
// decides what each user sees, and another user's workflow looks exactly like a missing one.

const t = useTestDatabase('server_access');
const site = useServerSite(t, ['alice', 'bob', 'admin']);
const yaml = { 'content-type': 'application/yaml' };

let aliceWorkflow: number;
let bobWorkflow: number;

async function create(user: 'alice' | 'bob', name: string): Promise<number> {
  const r = await site.app().inject({
    method: 'POST',
    url: '/api/v1/workflows',
    headers: { ...site.users[user]?.auth, ...yaml },
    payload: yamlSpec(name),
  });
  expect(r.statusCode, r.body).toBe(201);
  return r.json().id;
}

beforeAll(async () => {
  aliceWorkflow = await create('alice', 'alice-private');
  bobWorkflow = await create('bob', 'bob-private');
  const init = await site.app().inject({
    method: 'POST',
    url: `/api/v1/workflows/${aliceWorkflow}/initialize`,
    headers: site.users.alice?.auth,
  });
  expect(init.statusCode, init.body).toBe(200);
});

const unauthenticatedBody = {
  type: 'urn:sluice:error:UNAUTHENTICATED',
  title: 'a valid API token is required',
  status: 401,
  detail: 'a valid API token is required: Authorization: Bearer <token>',
  code: 'UNAUTHENTICATED',
};

describe('authentication', () => {
  it('answers 401 problem+json without a token, with a malformed header and with an unknown token', async () => {
    for (const headers of [
      {},
      { authorization: 'Basic YWxpY2U6eA==' },
      { authorization: 'Bearer' },
      bearer('slc_nope'),
    ]) {
      const r = await site.app().inject({ method: 'GET', url: '/api/v1/workflows', headers });
      expect(r.statusCode, JSON.stringify(headers)).toBe(401);
      expect(r.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(r.headers['www-authenticate']).toBe('Bearer realm="sluice"');
      expect(r.json()).toEqual(unauthenticatedBody);
    }
  });

  it('refuses a revoked token and an expired one', async () => {
    const alice = site.users.alice!;
    const revoked = await apiTokensCreate(alice.handle.db, 'to revoke', null);
    const ok = await site.app().inject({ method: 'GET', url: '/api/v1/workflows', headers: bearer(revoked.token) });
    expect(ok.statusCode).toBe(200);
    expect(await apiTokensRevoke(alice.handle.db, revoked.row.id)).toBe(true);
    const after = await site.app().inject({ method: 'GET', url: '/api/v1/workflows', headers: bearer(revoked.token) });
    expect(after.statusCode).toBe(401);
    expect(after.json()).toEqual(unauthenticatedBody);

    const expiring = await apiTokensCreate(alice.handle.db, 'to expire', 3600);
    await t.query(`UPDATE sluice.api_tokens SET expires_at = now() - interval '1 second' WHERE id = $1`, [
      expiring.row.id,
    ]);
    const expired = await site
      .app()
      .inject({ method: 'GET', url: '/api/v1/workflows', headers: bearer(expiring.token) });
    expect(expired.statusCode).toBe(401);
  });

  it('answers 401 before it validates: a bad token learns nothing of the request', async () => {
    const r = await site.app().inject({
      method: 'GET',
      url: '/api/v1/workflows/abc/jobs?limit=99999',
      headers: bearer('slc_nope'),
    });
    expect(r.statusCode).toBe(401);
  });

  it('records when a token was last used', async () => {
    const rows = await t.query<{ last_used_at: Date | null }>(
      'SELECT last_used_at FROM sluice.api_tokens WHERE owner_role = $1 AND name = $2',
      [site.users.bob?.role, 'bob test'],
    );
    expect(rows[0]?.last_used_at).toBeInstanceOf(Date);
  });

  it('needs no token for /health, /openapi.json and /docs', async () => {
    expect((await site.app().inject({ method: 'GET', url: '/health' })).json()).toEqual({
      ok: true,
      database: 'reachable',
    });
    expect((await site.app().inject({ method: 'GET', url: '/openapi.json' })).statusCode).toBe(200);
    const docs = await site.app().inject({ method: 'GET', url: '/docs' });
    expect(docs.statusCode).toBe(200);
    expect(docs.headers['content-type']).toMatch(/^text\/html/);
  });
});

describe('isolation between users', () => {
  const routes = (id: number): [string, string, object?][] => [
    ['GET', `/api/v1/workflows/${id}`],
    ['GET', `/api/v1/workflows/${id}/status`],
    ['GET', `/api/v1/workflows/${id}/jobs`],
    ['GET', `/api/v1/workflows/${id}/results`],
    ['GET', `/api/v1/workflows/${id}/actions`],
    ['GET', `/api/v1/workflows/${id}/events`],
    ['GET', `/api/v1/workflows/${id}/events/stream`],
    ['POST', `/api/v1/workflows/${id}/initialize`],
    ['POST', `/api/v1/workflows/${id}/reinitialize`],
    ['POST', `/api/v1/workflows/${id}/reset-status`, { failed_only: false }],
    ['POST', `/api/v1/workflows/${id}/cancel`],
    ['DELETE', `/api/v1/workflows/${id}`],
  ];

  it('gives B a 404 for A’s workflow on every route, exactly as for a workflow that does not exist', async () => {
    const missing = 987_654_321;
    const asBob = site.users.bob!.auth;
    const theirs = routes(aliceWorkflow);
    const nobodys = routes(missing);
    for (const [i, [method, url, payload]] of theirs.entries()) {
      const r = await site.app().inject({ method: method as 'GET', url, headers: asBob, payload: payload as object });
      const m = await site.app().inject({
        method: method as 'GET',
        url: nobodys[i]?.[1] as string,
        headers: asBob,
        payload: payload as object,
      });
      expect(r.statusCode, `${method} ${url}`).toBe(404);
      expect(r.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(r.json(), `${method} ${url}`).toEqual({
        type: 'urn:sluice:error:WORKFLOW_NOT_FOUND',
        title: 'no such workflow',
        status: 404,
        detail: `workflow ${aliceWorkflow} does not exist`,
        code: 'WORKFLOW_NOT_FOUND',
      });
      expect(m.statusCode).toBe(404);
      expect(m.body.replaceAll(String(missing), String(aliceWorkflow))).toBe(r.body);
    }
    // Nothing B tried changed A's workflow.
    const [w] = await t.query<{ canceled_at: Date | null; run_id: number }>(
      'SELECT canceled_at, run_id FROM sluice.workflows WHERE id = $1',
      [aliceWorkflow],
    );
    expect(w).toEqual({ canceled_at: null, run_id: 1 });
  });

  it('lists each user only their own workflows; an admin sees everyone’s', async () => {
    const ids = async (user: string) => {
      const r = await site.app().inject({ method: 'GET', url: '/api/v1/workflows', headers: site.users[user]?.auth });
      expect(r.statusCode).toBe(200);
      return r.json().items.map((w: { id: number; owner: string }) => [w.id, w.owner]);
    };
    expect(await ids('alice')).toEqual([[aliceWorkflow, site.users.alice?.role]]);
    expect(await ids('bob')).toEqual([[bobWorkflow, site.users.bob?.role]]);
    expect(await ids('admin')).toEqual([
      [aliceWorkflow, site.users.alice?.role],
      [bobWorkflow, site.users.bob?.role],
    ]);
  });

  it('records the token’s user as the owner of a workflow it creates', async () => {
    const rows = await t.query<{ id: number; owner_role: string }>(
      'SELECT id, owner_role FROM sluice.workflows ORDER BY id',
    );
    expect(rows).toEqual([
      { id: aliceWorkflow, owner_role: site.users.alice?.role },
      { id: bobWorkflow, owner_role: site.users.bob?.role },
    ]);
  });

  it('lets A’s own token read A’s workflow', async () => {
    const r = await site.app().inject({
      method: 'GET',
      url: `/api/v1/workflows/${aliceWorkflow}`,
      headers: site.users.alice?.auth,
    });
    expect(r.statusCode).toBe(200);
    expect(r.json()).toMatchObject({ id: aliceWorkflow, name: 'alice-private', owner: site.users.alice?.role });
  });
});
