import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { type ApiPluginOptions, asUser } from './api-context.js';
import { EventPage, EventStreamHeaders, EventStreamQuery, PageQuery, WorkflowParams } from './api-schemas.js';
import { startEventStream } from './event-stream-frames.js';
import { eventsPage, workflowsAssertVisible } from './page-queries.js';
import { problemResponses } from './problem-details.js';

const tags = ['events'];

/** A workflow's events: a page at a time, or as a server-sent event stream that follows new ones. */
export const eventsPlugin: FastifyPluginAsyncZod<ApiPluginOptions> = async (app, { ctx }) => {
  app.get(
    '/workflows/:id/events',
    {
      schema: {
        tags,
        summary: 'A workflow’s events, by id',
        params: WorkflowParams,
        querystring: PageQuery,
        response: { 200: EventPage, ...problemResponses(400, 401, 404) },
      },
    },
    (req) => asUser(ctx, req, (h) => eventsPage(h.db, req.params.id, req.query)),
  );

  app.get(
    '/workflows/:id/events/stream',
    {
      schema: {
        tags,
        summary: 'Follow a workflow’s events (server-sent events)',
        description:
          'text/event-stream: each event is `id:` (the event id), `event:` (its kind) and `data:` (the Event as ' +
          'JSON). Resumes after the Last-Event-ID header, or after ?after=; from the first event otherwise. ' +
          'Comment lines every 15 s keep the connection alive. The stream ends when the workflow is deleted. ' +
          'With ?wake=true, `event: wake` frames (no id) say at once that the workflow’s channel was notified; ' +
          'with ?events=false too, the stream carries nothing else.',
        params: WorkflowParams,
        querystring: EventStreamQuery,
        headers: EventStreamHeaders,
        response: {
          200: { description: 'the event stream', content: { 'text/event-stream': { schema: z.string() } } },
          ...problemResponses(400, 401, 404),
        },
      },
    },
    async (req, reply) => {
      const { role, token } = await asUser(ctx, req, async (h, role, token) => {
        await workflowsAssertVisible(h.db, req.params.id);
        return { role, token };
      });
      const header = req.headers['last-event-id'];
      const afterId = header !== undefined ? Number(header) : (req.query.after ?? 0);
      reply.hijack();
      startEventStream(reply.raw);
      ctx.hub.subscribe({
        workflowId: req.params.id,
        token,
        role,
        afterId,
        res: reply.raw,
        wake: req.query.wake,
        events: req.query.events,
      });
    },
  );
};
