import {
  isSluiceError,
  JOB_STATUSES,
  jobsList,
  type SluiceDb,
  toSluiceError,
  workflowsGet,
  workflowsList,
} from '@sluice/core';
import Fastify, { type FastifyInstance } from 'fastify';
import { z } from 'zod';

export interface BuildAppOptions {
  db: SluiceDb;
  logger?: boolean;
}

export const WorkflowParams = z.object({ id: z.coerce.number().int().positive() });
export type WorkflowParams = z.infer<typeof WorkflowParams>;
export const JobsQuery = z.object({ status: z.enum(JOB_STATUSES).optional() });
export type JobsQuery = z.infer<typeof JobsQuery>;

/** The read-only HTTP API. Built apart from `listen` so that tests drive it with inject(). */
export function buildApp(opts: BuildAppOptions): FastifyInstance {
  const app = Fastify({ logger: opts.logger ?? false });
  const { db } = opts.db;

  app.setErrorHandler((error, _req, reply) => {
    const e = toSluiceError(error);
    if (isSluiceError(e)) return reply.status(e.httpStatus).send({ code: e.code, message: e.message });
    if (error instanceof z.ZodError) {
      const issue = error.issues[0];
      return reply
        .status(400)
        .send({ code: 'USAGE', message: `${issue?.path.join('.') || 'request'}: ${issue?.message ?? 'invalid'}` });
    }
    app.log.error(error);
    return reply.status(500).send({ code: 'SLUICE_INTERNAL', message: 'internal error' });
  });

  app.get('/health', async () => ({ ok: true }));
  app.get('/workflows', async () => workflowsList(db));
  app.get('/workflows/:id', async (req) => workflowsGet(db, WorkflowParams.parse(req.params).id));
  app.get('/workflows/:id/jobs', async (req) => {
    const { id } = WorkflowParams.parse(req.params);
    const { status } = JobsQuery.parse(req.query);
    await workflowsGet(db, id);
    return jobsList(db, id, status);
  });
  return app;
}
