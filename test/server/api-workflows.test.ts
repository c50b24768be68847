import { beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli-runner.js';
import { finishJobs } from '../support/engine-driver.js';
import { useTestDatabase } from '../support/test-database.js';
import { useServerSite } from './server-test-support.js';

// The routes of one user: creating from every spec format, the lifecycle, pagination, and
// errors as problem+json.

const t = useTestDatabase('server_workflows');
const site = useServerSite(t, ['carol']);
const carol = () => site.users.carol!;

type Method = 'GET' | 'POST' | 'DELETE';
const call = (method: Method, url: string, payload?: object | string, headers: Record<string, string> = {}) =>
  site.app().inject({ method, url: `/api/v1${url}`, headers: { ...carol().auth, ...headers }, payload });

const FIXTURES: Record<string, { contentType: string; text: string }> = {
  yaml: {
    contentType: 'application/yaml',
    text: 'name: from-yaml\njobs:\n  - name: a\n    command: echo a\n  - name: b\n    command: echo b\n    depends_on: [a]\n',
  },
  json: {
    contentType: 'application/json; charset=utf-8',
    text: JSON.stringify({ name: 'from-json', jobs: [{ name: 'a', command: 'echo a' }] }),
  },
  json5: {
    contentType: 'application/json5',
    text: "// a comment\n{name: 'from-json5', jobs: [{name: 'a', command: 'echo a',},],}\n",
  },
  kdl: {
    contentType: 'application/kdl',
    text: 'name "from-kdl"\njob "a" { command "echo a"; }\njob "b" { command "echo b"; }\n',
  },
};

describe('POST /workflows', () => {
  it('creates a workflow from each format, answering 201 with its status', async () => {
    for (const [format, { contentType, text }] of Object.entries(FIXTURES)) {
      const r = await call('POST', '/workflows', text, { 'content-type': contentType });
      expect(r.statusCode, `${format}: ${r.body}`).toBe(201);
      expect(r.json()).toMatchObject({
        name: `from-${format}`,
        owner: carol().role,
        run_id: 0,
        is_initialized: false,
        num_jobs: format === 'yaml' || format === 'kdl' ? 2 : 1,
        stalled: null,
      });
      const [row] = await t.query<{ name: string }>('SELECT name FROM sluice.workflows WHERE id = $1', [r.json().id]);
      expect(row?.name).toBe(`from-${format}`);
    }
  });

  it('takes text/plain with ?format=', async () => {
    const r = await call('POST', '/workflows?format=kdl', FIXTURES.kdl?.text, { 'content-type': 'text/plain' });
    expect(r.statusCode, r.body).toBe(201);
    expect(r.json().name).toBe('from-kdl');
    const none = await call('POST', '/workflows', 'name: x\n', { 'content-type': 'text/plain' });
    expect(none.statusCode).toBe(400);
    expect(none.json().detail).toBe(
      'query parameter format: required with Content-Type text/plain (one of yaml, json, json5, kdl)',
    );
    const clash = await call('POST', '/workflows?format=yaml', '{}', { 'content-type': 'application/json' });
    expect(clash.json().detail).toBe('query parameter format: yaml contradicts Content-Type application/json');
  });

  it('initializes in the same request with ?initialize=true, and refuses other values', async () => {
    const { contentType, text } = FIXTURES.yaml as { contentType: string; text: string };
    const r = await call('POST', '/workflows?initialize=true', text, { 'content-type': contentType });
    expect(r.statusCode, r.body).toBe(201);
    expect(r.json()).toMatchObject({ run_id: 1, is_initialized: true });
    expect(r.json().job_counts).toMatchObject({ ready: 1, blocked: 1, uninitialized: 0 });
    const bad = await call('POST', '/workflows?initialize=yes', text, { 'content-type': contentType });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().detail).toMatch(/initialize/);
  });

  it('answers a spec error with 400 and the spec loader’s one-line message', async () => {
    const r = await call('POST', '/workflows', 'name: bad\njobs:\n  - name: a\n    comand: echo\n', {
      'content-type': 'application/yaml',
    });
    expect(r.statusCode).toBe(400);
    expect(r.headers['content-type']).toMatch(/^application\/problem\+json/);
    const body = r.json();
    expect(body).toMatchObject({ status: 400, code: 'SPEC_INVALID', type: 'urn:sluice:error:SPEC_INVALID' });
    expect(body.detail).toMatch(/^request body:4: jobs\[0\]\.comand: unknown key "comand"/);
    expect(body.detail).not.toContain('\n');
    const syntax = await call('POST', '/workflows', '{"name": ', { 'content-type': 'application/json' });
    expect(syntax.statusCode).toBe(400);
    expect(syntax.json().code).toBe('SPEC_SYNTAX');
    expect(await t.query("SELECT id FROM sluice.workflows WHERE name = 'bad'")).toEqual([]);
  });

  it('refuses an unknown media type with 415 and a body over the limit with 413', async () => {
    const xml = await call('POST', '/workflows', '<workflow/>', { 'content-type': 'application/xml' });
    expect(xml.statusCode).toBe(415);
    expect(xml.json()).toMatchObject({ status: 415, code: 'USAGE' });
    const huge = `name: huge\n#${'x'.repeat(64 * 1024 * 1024)}\n`;
    const r = await call('POST', '/workflows', huge, { 'content-type': 'application/yaml' });
    expect(r.statusCode).toBe(413);
    expect(r.json()).toMatchObject({
      status: 413,
      code: 'USAGE',
      detail: 'the request body is larger than the 64 MiB this route accepts',
    });
  });
});

describe('a workflow’s lifecycle', () => {
  let id: number;
  beforeAll(async () => {
    const r = await call('POST', '/workflows', FIXTURES.yaml?.text, { 'content-type': 'application/yaml' });
    id = r.json().id;
  });

  it('initializes once; again is 409 WORKFLOW_STATE', async () => {
    const r = await call('POST', `/workflows/${id}/initialize`);
    expect(r.json()).toEqual({ id, run_id: 1 });
    const again = await call('POST', `/workflows/${id}/initialize`);
    expect(again.statusCode).toBe(409);
    expect(again.json()).toMatchObject({ code: 'WORKFLOW_STATE', status: 409 });
    expect(again.json().detail).toMatch(/already initialized/);
  });

  it('shows status as `sluice workflows status --json` does', async () => {
    const api = await call('GET', `/workflows/${id}/status`);
    expect(api.statusCode).toBe(200);
    const cli = await runCli(['workflows', 'status', String(id), '--json'], {
      env: { SLUICE_DATABASE_URL: carol().url },
    });
    expect(cli.code, cli.stderr).toBe(0);
    expect(api.json()).toEqual(JSON.parse(cli.stdout));
    expect(api.json()).toMatchObject({ id, run_id: 1, job_counts: { ready: 1, blocked: 1 } });
    const summary = (await call('GET', `/workflows/${id}`)).json();
    expect(summary).toEqual(
      Object.fromEntries(Object.entries(api.json()).filter(([k]) => k !== 'stalled' && k !== 'waiting')),
    );
  });

  it('resets failed jobs only, reinitializes, cancels, deletes', async () => {
    await finishJobs(carol().handle, id, { a: 'failed' });
    const bad = await call('POST', `/workflows/${id}/reset-status`, { failed_only: 'yes' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().detail).toMatch(/^body failed_only: /);
    const reset = await call('POST', `/workflows/${id}/reset-status`, { failed_only: true });
    expect(reset.json()).toEqual({ id, reset_jobs: 2 });
    expect((await call('POST', `/workflows/${id}/reinitialize`)).json()).toEqual({ id, run_id: 2 });
    const cancel = await call('POST', `/workflows/${id}/cancel`);
    expect(cancel.json()).toEqual({ id, canceled_jobs: 2, allocations: [], problem: null });
    expect((await call('GET', `/workflows/${id}`)).json()).toMatchObject({ is_canceled: true });
    const del = await call('DELETE', `/workflows/${id}`);
    expect(del.statusCode).toBe(204);
    expect(del.body).toBe('');
    expect((await call('GET', `/workflows/${id}`)).statusCode).toBe(404);
  });
});

describe('pagination', () => {
  let id: number;
  const jobNames = Array.from({ length: 7 }, (_, i) => `j${i + 1}`);
  beforeAll(async () => {
    const spec = { name: 'pages', jobs: jobNames.map((name) => ({ name, command: 'true' })) };
    id = (await call('POST', '/workflows', JSON.stringify(spec), { 'content-type': 'application/json' })).json().id;
    await call('POST', `/workflows/${id}/initialize`);
    await finishJobs(carol().handle, id, { j1: 'completed', j2: 'failed', j3: 'completed', j4: 'completed' });
  });

  async function walk(path: string, limit: number): Promise<{ ids: number[]; pages: number }> {
    const ids: number[] = [];
    let after = 0;
    for (let pages = 1; ; pages++) {
      const sep = path.includes('?') ? '&' : '?';
      const r = await call('GET', `${path}${sep}limit=${limit}&after=${after}`);
      expect(r.statusCode, r.body).toBe(200);
      const { items, next_after } = r.json();
      expect(items.length).toBeLessThanOrEqual(limit);
      ids.push(...items.map((x: { id: number }) => x.id));
      if (next_after === null) return { ids, pages };
      expect(next_after).toBe(items.at(-1).id);
      after = next_after;
    }
  }

  it('pages through jobs by id, with and without a status', async () => {
    const all = (await call('GET', `/workflows/${id}/jobs`)).json();
    expect(all.items.map((j: { name: string }) => j.name)).toEqual(jobNames);
    expect(all.next_after).toBeNull();
    const { ids, pages } = await walk(`/workflows/${id}/jobs`, 3);
    expect(ids).toEqual(all.items.map((j: { id: number }) => j.id));
    expect(pages).toBe(3);
    const running = await walk(`/workflows/${id}/jobs?status=running`, 2);
    // finishJobs claimed every ready job and finished four of them.
    expect(running.ids).toHaveLength(3);
    const failed = (await call('GET', `/workflows/${id}/jobs?status=failed`)).json();
    expect(failed.items.map((j: { name: string; status: string }) => [j.name, j.status])).toEqual([['j2', 'failed']]);
  });

  it('pages through results and events', async () => {
    const results = await walk(`/workflows/${id}/results`, 3);
    expect(results.ids).toHaveLength(4);
    expect(results.pages).toBe(2);
    const first = (await call('GET', `/workflows/${id}/results?limit=1`)).json().items[0];
    expect(first).toMatchObject({ job_name: 'j1', status: 'completed', run_id: 1 });
    expect(Number.isNaN(Date.parse(first.completed_at))).toBe(false);
    const events = await walk(`/workflows/${id}/events`, 2);
    const kinds = (await call('GET', `/workflows/${id}/events?limit=1000`))
      .json()
      .items.map((e: { kind: string }) => e.kind);
    expect(events.ids).toHaveLength(kinds.length);
    expect(kinds.slice(0, 2)).toEqual(['workflow_created', 'workflow_initialized']);
    expect(kinds).toContain('job_finished');
  });

  it('refuses limits out of range and ids that are not numbers, naming the field', async () => {
    for (const [query, detail] of [
      ['limit=0', /^query parameter limit: Too small: expected number to be >=1/],
      ['limit=1001', /^query parameter limit: Too big: expected number to be <=1000/],
      ['after=abc', /^query parameter after: /],
      ['status=bogus', /^query parameter status: /],
    ] as const) {
      const r = await call('GET', `/workflows/${id}/jobs?${query}`);
      expect(r.statusCode, query).toBe(400);
      expect(r.json()).toMatchObject({ code: 'USAGE', status: 400, title: 'invalid request' });
      expect(r.json().detail).toMatch(detail);
    }
    const r = await call('GET', '/workflows/abc');
    expect(r.json().detail).toMatch(/^path parameter id: /);
  });
});

describe('actions and errors', () => {
  it('lists actions with their runs', async () => {
    const spec =
      'name: with-action\njobs:\n  - name: a\n    command: "true"\nactions:\n  - trigger_type: on_workflow_start\n    action_type: run_commands\n    commands: ["true"]\n';
    const id = (await call('POST', '/workflows', spec, { 'content-type': 'application/yaml' })).json().id;
    const r = await call('GET', `/workflows/${id}/actions`);
    expect(r.statusCode, r.body).toBe(200);
    expect(r.json().items).toEqual([
      expect.objectContaining({
        trigger_type: 'on_workflow_start',
        action_type: 'run_commands',
        status: 'waiting',
        runs: [],
      }),
    ]);
  });

  it('answers an unknown route with a problem', async () => {
    const r = await call('GET', '/nowhere?x=1');
    expect(r.statusCode).toBe(404);
    expect(r.json()).toEqual({
      type: 'urn:sluice:error:USAGE',
      title: 'invalid request',
      status: 404,
      detail: 'no route GET /api/v1/nowhere',
      code: 'USAGE',
    });
  });
});
