import { workflowsDelete, workflowsGet, workflowsInitialize, workflowsReinitialize } from '@sluice/core';
import {
  cancelWorkflow,
  resetWorkflowStatus,
  type SlurmClient,
  toWorkflowStatus,
  workflowStatus,
} from '@sluice/runner';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { type ApiPluginOptions, asUser } from './api-context.js';
import {
  PageQuery,
  ResetStatusBody,
  RunStarted,
  StatusReset,
  WorkflowCanceled,
  WorkflowPage,
  WorkflowParams,
  WorkflowStatus,
  WorkflowSummary,
} from './api-schemas.js';
import { workflowsPage } from './page-queries.js';
import { problemResponses } from './problem-details.js';
import { registerWorkflowCreate } from './workflow-create-route.js';

const tags = ['workflows'];

/** Workflows: create, list, read, status, lifecycle (initialize, reinitialize, reset, cancel), delete. */
export const workflowsPlugin: FastifyPluginAsyncZod<ApiPluginOptions> = async (app, { ctx }) => {
  await app.register(registerWorkflowCreate, { ctx });

  app.get(
    '/workflows',
    {
      schema: {
        tags,
        summary: 'List your workflows',
        description: 'Workflows by id, a page at a time; an admin sees every user’s.',
        querystring: PageQuery,
        response: { 200: WorkflowPage, ...problemResponses(400, 401) },
      },
    },
    (req) =>
      asUser(ctx, req, async (h) => {
        const page = await workflowsPage(h.db, req.query);
        return { items: page.items.map(toWorkflowStatus), next_after: page.next_after };
      }),
  );

  app.get(
    '/workflows/:id',
    {
      schema: {
        tags,
        summary: 'A workflow and its job counts',
        params: WorkflowParams,
        response: { 200: WorkflowSummary, ...problemResponses(400, 401, 404) },
      },
    },
    (req) => asUser(ctx, req, async (h) => toWorkflowStatus(await workflowsGet(h.db, req.params.id))),
  );

  app.get(
    '/workflows/:id/status',
    {
      schema: {
        tags,
        summary: 'Status, as `sluice workflows status --json` prints it',
        description: 'Silent workers are declared lost first, so that their jobs show as terminated.',
        params: WorkflowParams,
        response: { 200: WorkflowStatus, ...problemResponses(400, 401, 404) },
      },
    },
    (req) => asUser(ctx, req, async (h) => (await workflowStatus(h, req.params.id)).status),
  );

  const lifecycle = { params: WorkflowParams, tags };

  app.post(
    '/workflows/:id/initialize',
    {
      schema: {
        ...lifecycle,
        summary: 'Start run 1: uninitialized jobs become ready or blocked',
        response: { 200: RunStarted, ...problemResponses(400, 401, 404, 409) },
      },
    },
    (req) =>
      asUser(ctx, req, async (h) => ({
        id: req.params.id,
        run_id: await workflowsInitialize(h.db, req.params.id),
      })),
  );

  app.post(
    '/workflows/:id/reinitialize',
    {
      schema: {
        ...lifecycle,
        summary: 'Start a new run; completed jobs stay completed',
        response: { 200: RunStarted, ...problemResponses(400, 401, 404, 409) },
      },
    },
    (req) =>
      asUser(ctx, req, async (h) => ({
        id: req.params.id,
        run_id: await workflowsReinitialize(h.db, req.params.id),
      })),
  );

  app.post(
    '/workflows/:id/reset-status',
    {
      schema: {
        ...lifecycle,
        summary: 'Set jobs back to uninitialized',
        description: 'All jobs, or with failed_only the failed, canceled and terminated ones and their dependents.',
        body: ResetStatusBody.optional(),
        response: { 200: StatusReset, ...problemResponses(400, 401, 404, 409) },
      },
    },
    (req) =>
      asUser(ctx, req, async (h) => ({
        id: req.params.id,
        reset_jobs: await resetWorkflowStatus(h, req.params.id, req.body?.failed_only ?? false),
      })),
  );

  app.post(
    '/workflows/:id/cancel',
    {
      schema: {
        ...lifecycle,
        summary: 'Cancel: unfinished jobs become canceled, the workflow’s Slurm allocations are scancel-ed',
        response: { 200: WorkflowCanceled, ...problemResponses(400, 401, 404) },
      },
    },
    async (req) => {
      // scancel once the cancellation is committed, as the operation does after its own
      // transaction: not while the request's transaction holds the workflow's locks.
      let allocations: readonly string[] = [];
      const afterCommit: SlurmClient = Object.assign(Object.create(ctx.slurm) as SlurmClient, {
        cancel: async (ids: readonly string[]) => {
          allocations = ids;
          return null;
        },
      });
      const r = await asUser(ctx, req, (h) => cancelWorkflow(h, req.params.id, afterCommit));
      const problem = await ctx.slurm.cancel(allocations);
      return { id: req.params.id, canceled_jobs: r.jobs, allocations: r.allocations, problem };
    },
  );

  app.delete(
    '/workflows/:id',
    {
      schema: {
        ...lifecycle,
        summary: 'Delete the workflow and everything recorded about it',
        response: { 204: z.null().describe('deleted'), ...problemResponses(400, 401, 404) },
      },
    },
    async (req, reply) => {
      await asUser(ctx, req, (h) => workflowsDelete(h.db, req.params.id));
      return reply.code(204).send(null);
    },
  );
};
