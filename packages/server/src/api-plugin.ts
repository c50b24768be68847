import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { actionsPlugin } from './actions-plugin.js';
import type { ApiPluginOptions } from './api-context.js';
import { eventsPlugin } from './events-plugin.js';
import { jobsPlugin } from './jobs-plugin.js';
import { unauthenticated } from './problem-details.js';
import { resultsPlugin } from './results-plugin.js';
import { bearerToken } from './user-transaction.js';
import { workersPlugin } from './workers-plugin.js';
import { workflowsPlugin } from './workflows-plugin.js';

/**
 * Everything under /api/v1: each route needs `Authorization: Bearer <token>`. A request without
 * one is refused before its body is read; a token is checked in the route's transaction
 * (asUser). Validation errors are attached rather than thrown, so that they are reported only
 * to an authenticated client.
 */
export const apiPlugin: FastifyPluginAsyncZod<ApiPluginOptions> = async (app, { ctx }) => {
  // Not the options themselves: their prefix would apply again.
  const opts = { ctx };
  app.addHook('onRoute', (route) => {
    route.attachValidation = true;
  });
  app.addHook('onRequest', async (req) => {
    if (!bearerToken(req.headers.authorization)) throw unauthenticated();
  });
  await app.register(workflowsPlugin, opts);
  await app.register(jobsPlugin, opts);
  await app.register(resultsPlugin, opts);
  await app.register(actionsPlugin, opts);
  await app.register(eventsPlugin, opts);
  await app.register(workersPlugin, opts);
};
