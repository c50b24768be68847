import type { SluiceDb } from '@sluice/core';
import type { SlurmClient } from '@sluice/runner';
import type { FastifyRequest } from 'fastify';
import type { EventStreamHub } from './event-stream-hub.js';
import { bearerToken, withUserTransaction } from './user-transaction.js';

/** What every resource plugin is given. */
export interface ApiContext {
  handle: SluiceDb;
  slurm: SlurmClient;
  hub: EventStreamHub;
}

export interface ApiPluginOptions {
  ctx: ApiContext;
}

/**
 * Runs a route's work in the request's one transaction, as the user its token speaks for. A
 * request that failed validation (attached, not thrown: see api-plugin.ts) fails here, after
 * authentication, so that an unauthenticated client learns nothing but 401.
 */
export function asUser<T>(
  ctx: ApiContext,
  req: FastifyRequest,
  fn: (h: SluiceDb, role: string, token: string) => Promise<T>,
): Promise<T> {
  const token = bearerToken(req.headers.authorization);
  return withUserTransaction(
    ctx.handle,
    token,
    (h, role) => fn(h, role, token as string),
    () => {
      if (req.validationError) throw req.validationError;
    },
  );
}
