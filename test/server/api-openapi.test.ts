import { buildApp, type SluiceApp } from '@sluice/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useTestDatabase } from '../support/test-database.js';

// The OpenAPI document is generated from the routes' zod schemas: every route is in it, with
// its parameters, body and responses.

const t = useTestDatabase('server_openapi');
let app: SluiceApp;

beforeAll(async () => {
  app = buildApp({ db: t.handle });
  await app.ready();
});
afterAll(async () => {
  await app.close();
});

interface Operation {
  parameters?: { in: string; name: string; required?: boolean; schema: Record<string, unknown> }[];
  requestBody?: { content: Record<string, { schema: unknown }> };
  responses: Record<string, { content?: Record<string, { schema: { $ref?: string; type?: string } }> }>;
  security?: unknown[];
}
type Doc = {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, unknown>; securitySchemes: Record<string, unknown> };
  security: unknown[];
};

const ROUTES: [string, string, string | null][] = [
  ['get', '/health', 'Health'],
  ['post', '/api/v1/workflows', 'WorkflowStatus'],
  ['get', '/api/v1/workflows', 'WorkflowPage'],
  ['get', '/api/v1/workflows/{id}', 'WorkflowSummary'],
  ['delete', '/api/v1/workflows/{id}', null],
  ['get', '/api/v1/workflows/{id}/status', 'WorkflowStatus'],
  ['post', '/api/v1/workflows/{id}/initialize', 'RunStarted'],
  ['post', '/api/v1/workflows/{id}/reinitialize', 'RunStarted'],
  ['post', '/api/v1/workflows/{id}/reset-status', 'StatusReset'],
  ['post', '/api/v1/workflows/{id}/cancel', 'WorkflowCanceled'],
  ['get', '/api/v1/workflows/{id}/jobs', 'JobPage'],
  ['get', '/api/v1/workflows/{id}/results', 'ResultPage'],
  ['get', '/api/v1/workflows/{id}/actions', 'ActionList'],
  ['get', '/api/v1/workflows/{id}/events', 'EventPage'],
  ['get', '/api/v1/workflows/{id}/events/stream', null],
  ['post', '/api/v1/workers/{id}/heartbeat', 'WorkerHeartbeat'],
];

describe('/openapi.json', () => {
  let doc: Doc;
  beforeAll(async () => {
    const r = await app.inject({ method: 'GET', url: '/openapi.json' });
    expect(r.statusCode).toBe(200);
    doc = r.json();
  });

  it('lists every route and nothing else', () => {
    expect(doc.openapi).toBe('3.1.0');
    const listed = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m} ${path}`));
    expect(listed.sort()).toEqual(ROUTES.map(([m, p]) => `${m} ${p}`).sort());
  });

  it('gives each route its response schema, and problem+json for its errors', () => {
    for (const [method, path, schema] of ROUTES) {
      const op = doc.paths[path]?.[method] as Operation;
      const ok = op.responses['200'] ?? op.responses['201'] ?? op.responses['204'];
      expect(ok, `${method} ${path}`).toBeDefined();
      if (schema) expect(ok?.content?.['application/json']?.schema.$ref).toBe(`#/components/schemas/${schema}`);
      const errors = Object.entries(op.responses).filter(([status]) => Number(status) >= 400);
      expect(errors.length, `${method} ${path}`).toBeGreaterThan(0);
      for (const [, e] of errors) {
        expect(e.content?.['application/problem+json']?.schema.$ref).toBe('#/components/schemas/Problem');
      }
      if (path.startsWith('/api/v1')) expect(op.responses['401'], `${method} ${path}`).toBeDefined();
    }
    const stream = doc.paths['/api/v1/workflows/{id}/events/stream']?.get as Operation;
    expect(stream.responses['200']?.content?.['text/event-stream']).toBeDefined();
  });

  it('documents parameters, the spec body’s media types, and bearer authentication', () => {
    const jobs = doc.paths['/api/v1/workflows/{id}/jobs']?.get as Operation;
    const params = Object.fromEntries((jobs.parameters ?? []).map((p) => [`${p.in} ${p.name}`, p]));
    expect(Object.keys(params).sort()).toEqual(['path id', 'query after', 'query limit', 'query status']);
    expect(params['query limit']?.schema).toMatchObject({ type: 'integer', minimum: 1, maximum: 1000, default: 100 });
    expect(params['path id']?.required).toBe(true);
    const stream = doc.paths['/api/v1/workflows/{id}/events/stream']?.get as Operation;
    expect(stream.parameters?.map((p) => `${p.in} ${p.name}`)).toContain('header last-event-id');
    const create = doc.paths['/api/v1/workflows']?.post as Operation;
    expect(Object.keys(create.requestBody?.content ?? {})).toEqual(
      expect.arrayContaining([
        'application/yaml',
        'application/json',
        'application/json5',
        'application/kdl',
        'text/plain',
      ]),
    );
    expect(doc.components.securitySchemes).toEqual({ bearerAuth: { type: 'http', scheme: 'bearer' } });
    expect(doc.security).toEqual([{ bearerAuth: [] }]);
    expect(doc.paths['/health']?.get?.security).toEqual([]);
  });

  it('names its schemas in components, each one referenced', () => {
    const names = Object.keys(doc.components.schemas);
    expect(names).toEqual(expect.arrayContaining(['Problem', 'WorkflowStatus', 'Job', 'Result', 'Event', 'Action']));
    const text = JSON.stringify(doc.paths);
    const all = JSON.stringify(doc);
    for (const name of names) expect(all.includes(`"#/components/schemas/${name}"`), name).toBe(true);
    expect(text).toContain('#/components/schemas/ResetStatusBodyInput');
    expect(doc.components.schemas.Problem).toMatchObject({
      required: ['type', 'title', 'status', 'detail', 'code'],
    });
  });

  it('serves the browsable documentation at /docs', async () => {
    const html = await app.inject({ method: 'GET', url: '/docs' });
    expect(html.statusCode).toBe(200);
    expect(html.body).toContain('swagger-ui');
    const js = await app.inject({ method: 'GET', url: '/docs/static/swagger-ui-bundle.js' });
    expect(js.statusCode).toBe(200);
    const spec = await app.inject({ method: 'GET', url: '/docs/json' });
    expect(Object.keys(spec.json().paths)).toContain('/api/v1/workflows');
  });
});
