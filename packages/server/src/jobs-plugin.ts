import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { type ApiPluginOptions, asUser } from './api-context.js';
import { JobPage, JobsQuery, WorkflowParams } from './api-schemas.js';
import { jobsPage } from './page-queries.js';
import { problemResponses } from './problem-details.js';

/** A workflow's jobs, a page at a time, optionally of one status. */
export const jobsPlugin: FastifyPluginAsyncZod<ApiPluginOptions> = async (app, { ctx }) => {
  app.get(
    '/workflows/:id/jobs',
    {
      schema: {
        tags: ['jobs'],
        summary: 'A workflow’s jobs, by id',
        params: WorkflowParams,
        querystring: JobsQuery,
        response: { 200: JobPage, ...problemResponses(400, 401, 404) },
      },
    },
    (req) => asUser(ctx, req, (h) => jobsPage(h.db, req.params.id, req.query)),
  );
};
