import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { SluiceDb } from '@sluice/core';
import { commandLineSlurm, type SlurmClient } from '@sluice/runner';
import Fastify from 'fastify';
import { serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import type { ApiContext } from './api-context.js';
import { apiPlugin } from './api-plugin.js';
import { EventStreamHub } from './event-stream-hub.js';
import { healthPlugin } from './health-plugin.js';
import { swaggerOptions } from './openapi-document.js';
import { notFoundProblem, sendProblem, toProblem } from './problem-details.js';
import { swaggerUiLogo, swaggerUiStaticDir } from './swagger-ui-assets.js';

export interface BuildAppOptions {
  /** the server's connection: on a site, a role that is a member of sluice_server */
  db: SluiceDb;
  /** what cancel scancels with (default: Slurm's commands on PATH) */
  slurm?: SlurmClient;
  /** where errors the client does not see in full go (5xx, event stream trouble) */
  log?: (message: string) => void;
  /** fastify's own request logging */
  logger?: boolean;
  /** the event streams' timings (EventStreamHubOptions) */
  events?: { pollIntervalMs?: number; heartbeatIntervalMs?: number; reauthenticateMs?: number; maxHoldMs?: number };
}

export const API_PREFIX = '/api/v1';

const JSON_BODY_LIMIT_BYTES = 1024 * 1024;

/**
 * The HTTP API, built apart from `listen` so that tests drive it with inject(). Closing the app
 * ends the event streams and the LISTEN connection; the caller closes `db`.
 */
export function buildApp(opts: BuildAppOptions) {
  const app = Fastify({
    logger: opts.logger ?? false,
    bodyLimit: JSON_BODY_LIMIT_BYTES,
  }).withTypeProvider<ZodTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  const log = opts.log ?? (() => {});
  const hub = new EventStreamHub({ handle: opts.db, log, ...opts.events });
  const ctx: ApiContext = { handle: opts.db, slurm: opts.slurm ?? commandLineSlurm, hub };

  app.setErrorHandler((error, req, reply) => {
    const { problem, internal } = toProblem(error, req.routeOptions.bodyLimit);
    if (internal) log(`${req.method} ${req.url.split('?')[0]}: ${error instanceof Error ? error.stack : error}`);
    return sendProblem(reply, problem);
  });
  app.setNotFoundHandler((req, reply) => sendProblem(reply, notFoundProblem(req)));

  app.register(swagger, swaggerOptions);
  const staticDir = swaggerUiStaticDir();
  app.register(swaggerUi, { routePrefix: '/docs', baseDir: staticDir, logo: swaggerUiLogo(staticDir) });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  app.register(healthPlugin, { ctx });
  app.register(apiPlugin, { ctx, prefix: API_PREFIX });

  // Streams never end by themselves: end them before the server waits for its connections. A
  // request in flight is finished, on a connection that then closes (kept alive, it would hold
  // the server open until the keep-alive timeout).
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
    hub.endStreams();
  });
  app.addHook('onSend', async (_req, reply) => {
    if (closing) reply.header('connection', 'close');
  });
  app.addHook('onClose', async () => hub.close());
  return app;
}

export type SluiceApp = ReturnType<typeof buildApp>;
