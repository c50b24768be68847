import { SluiceError, workersGetStatus, workersHeartbeat } from '@sluice/core';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { type ApiPluginOptions, asUser } from './api-context.js';
import { WorkerHeartbeat, WorkerParams } from './api-schemas.js';
import { problemResponses } from './problem-details.js';

/**
 * A worker's heartbeat through the server, for `sluice worker --wake sse`. Behind a
 * transaction-mode pooler the worker's one database connection queues its beats behind its
 * claims, and those behind every other worker's; the server's own connections to PostgreSQL do
 * not, so a busy pool cannot make a live worker look dead.
 */
export const workersPlugin: FastifyPluginAsyncZod<ApiPluginOptions> = async (app, { ctx }) => {
  app.post(
    '/workers/:id/heartbeat',
    {
      schema: {
        tags: ['workers'],
        summary: 'Renew a running worker’s heartbeat',
        description:
          'Answers the worker’s status after the beat; a worker declared lost or stopped is not renewed, ' +
          'and learns from the status that it must stop.',
        params: WorkerParams,
        response: { 200: WorkerHeartbeat, ...problemResponses(400, 401, 404) },
      },
    },
    (req) =>
      asUser(ctx, req, async (h) => {
        const id = req.params.id;
        const status = (await workersHeartbeat(h.db, id)) ?? (await workersGetStatus(h.db, id));
        if (!status) throw new SluiceError('WORKER_NOT_FOUND', `worker ${id} does not exist`);
        return { id, status };
      }),
  );
};
