import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { sql } from 'kysely';
import type { ApiPluginOptions } from './api-context.js';
import { Health } from './api-schemas.js';
import { problemResponses } from './problem-details.js';

/** GET /health, without a token: the server answers and its database does too. */
export const healthPlugin: FastifyPluginAsyncZod<ApiPluginOptions> = async (app, { ctx }) => {
  app.get(
    '/health',
    {
      schema: {
        tags: ['health'],
        summary: 'The server and its database answer',
        security: [],
        response: { 200: Health, ...problemResponses(503) },
      },
    },
    async () => {
      await sql`SELECT 1`.execute(ctx.handle.db);
      return { ok: true as const, database: 'reachable' as const };
    },
  );
};
