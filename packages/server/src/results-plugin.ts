import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { type ApiPluginOptions, asUser } from './api-context.js';
import { PageQuery, ResultPage, WorkflowParams } from './api-schemas.js';
import { resultsPage } from './page-queries.js';
import { problemResponses } from './problem-details.js';

/** A workflow's results (one per finished execution), a page at a time. */
export const resultsPlugin: FastifyPluginAsyncZod<ApiPluginOptions> = async (app, { ctx }) => {
  app.get(
    '/workflows/:id/results',
    {
      schema: {
        tags: ['results'],
        summary: 'A workflow’s results, by id',
        params: WorkflowParams,
        querystring: PageQuery,
        response: { 200: ResultPage, ...problemResponses(400, 401, 404) },
      },
    },
    (req) => asUser(ctx, req, (h) => resultsPage(h.db, req.params.id, req.query)),
  );
};
