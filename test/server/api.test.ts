import { workflowsCreate, workflowsInitialize } from '@sluice/core';
import { buildApp } from '@sluice/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useTestDatabase } from '../support/test-database.js';
import { buildWorkflow } from '../support/workflow-builder.js';

const t = useTestDatabase('server_api');
let app: ReturnType<typeof buildApp>;
let id: number;

beforeAll(async () => {
  app = buildApp({ db: t.handle });
  id = await workflowsCreate(t.handle.db, buildWorkflow({ a: {}, b: { deps: ['a'] } }));
  await workflowsInitialize(t.handle.db, id);
});
afterAll(async () => {
  await app.close();
});

describe('HTTP API', () => {
  it('shows a workflow with its job counts', async () => {
    const r = await app.inject({ method: 'GET', url: `/workflows/${id}` });
    expect(r.statusCode).toBe(200);
    expect(r.json()).toMatchObject({ id, name: 'sketch', ready: 1, blocked: 1, is_complete: false });
  });

  it('lists jobs filtered by status', async () => {
    const r = await app.inject({ method: 'GET', url: `/workflows/${id}/jobs?status=ready` });
    expect(r.statusCode).toBe(200);
    expect(r.json().map((j: { name: string }) => j.name)).toEqual(['a']);
  });

  it('answers 404 with an error code for a missing workflow', async () => {
    const r = await app.inject({ method: 'GET', url: '/workflows/999999' });
    expect(r.statusCode).toBe(404);
    expect(r.json()).toEqual({ code: 'WORKFLOW_NOT_FOUND', message: 'workflow 999999 does not exist' });
  });

  it('answers 400 naming the bad parameter', async () => {
    const r = await app.inject({ method: 'GET', url: `/workflows/${id}/jobs?status=bogus` });
    expect(r.statusCode).toBe(400);
    expect(r.json().message).toMatch(/^status: /);
  });
});
