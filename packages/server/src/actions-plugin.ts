import { type ActionRunStatus, actionsList } from '@sluice/core';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { type ApiPluginOptions, asUser } from './api-context.js';
import { ActionList, WorkflowParams } from './api-schemas.js';
import { workflowsAssertVisible } from './page-queries.js';
import { problemResponses } from './problem-details.js';

/** A workflow's actions with their runs (a spec has few: no pagination). */
export const actionsPlugin: FastifyPluginAsyncZod<ApiPluginOptions> = async (app, { ctx }) => {
  app.get(
    '/workflows/:id/actions',
    {
      schema: {
        tags: ['actions'],
        summary: 'A workflow’s actions: trigger, progress, status and every run',
        params: WorkflowParams,
        response: { 200: ActionList, ...problemResponses(400, 401, 404) },
      },
    },
    (req) =>
      asUser(ctx, req, async (h) => {
        await workflowsAssertVisible(h.db, req.params.id);
        const actions = await actionsList(h.db, req.params.id);
        // The runs come from SQL's action_run_status enum; core types them as plain strings.
        const runs = (a: (typeof actions)[number]) =>
          a.runs.map((r) => ({ ...r, status: r.status as ActionRunStatus }));
        return { items: actions.map((a) => ({ ...a, runs: runs(a) })) };
      }),
  );
};
