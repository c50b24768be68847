import { SluiceError } from '@sluice/core';
import type { SpecFormat } from '@sluice/core/spec';
import { createWorkflow, workflowStatus } from '@sluice/runner';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { type ApiPluginOptions, asUser } from './api-context.js';
import { QueryFlag, WorkflowStatus } from './api-schemas.js';
import { problemResponses } from './problem-details.js';

/** The largest spec text accepted in a request; the spec loader checks texts of any size itself. */
export const SPEC_BODY_LIMIT_BYTES = 64 * 1024 * 1024;

const FORMATS = ['yaml', 'json', 'json5', 'kdl'] as const satisfies readonly SpecFormat[];

/** The media types that name a spec's format; text/plain says nothing and needs ?format=. */
const MEDIA_FORMATS: Record<string, SpecFormat> = {
  'application/yaml': 'yaml',
  'application/x-yaml': 'yaml',
  'text/yaml': 'yaml',
  'application/json': 'json',
  'application/json5': 'json5',
  'application/kdl': 'kdl',
};
const SPEC_MEDIA_TYPES = [...Object.keys(MEDIA_FORMATS), 'text/plain'];

export const CreateWorkflowQuery = z.object({
  format: z.enum(FORMATS).optional().describe('the spec’s format; needed with Content-Type text/plain'),
  initialize: QueryFlag.describe(
    'true: also initialize it, in the same transaction (as `sluice workflows create --initialize`)',
  ),
});
export type CreateWorkflowQuery = z.infer<typeof CreateWorkflowQuery>;

function specFormat(contentType: string | undefined, asked: SpecFormat | undefined): SpecFormat {
  const media = (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  const named = MEDIA_FORMATS[media];
  if (named && asked && asked !== named) {
    throw new SluiceError('USAGE', `query parameter format: ${asked} contradicts Content-Type ${media}`);
  }
  const format = named ?? asked;
  if (!format) {
    throw new SluiceError(
      'USAGE',
      `query parameter format: required with Content-Type ${media || '(none)'} (one of ${FORMATS.join(', ')})`,
    );
  }
  return format;
}

/**
 * POST /workflows, in a scope of its own: here every spec media type, JSON included, reaches the
 * handler as text, so that the spec loader reports errors by line.
 */
export const registerWorkflowCreate: FastifyPluginAsyncZod<ApiPluginOptions> = async (app, { ctx }) => {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(SPEC_MEDIA_TYPES, { parseAs: 'string' }, (_req, body, done) => done(null, body));

  app.post(
    '/workflows',
    {
      bodyLimit: SPEC_BODY_LIMIT_BYTES,
      schema: {
        tags: ['workflows'],
        summary: 'Create a workflow from a spec (YAML, JSON, JSON5 or KDL)',
        description:
          'The body is the spec text. Its format comes from Content-Type (application/yaml, application/json, ' +
          'application/json5, application/kdl) or, with text/plain, from ?format=. The workflow is created, not ' +
          'initialized unless ?initialize=true. Spec errors are 400 with the spec’s one-line message.',
        consumes: SPEC_MEDIA_TYPES,
        querystring: CreateWorkflowQuery,
        body: z.string().describe('the workflow spec'),
        response: { 201: WorkflowStatus, ...problemResponses(400, 401, 413, 415) },
      },
    },
    async (req, reply) => {
      const status = await asUser(ctx, req, async (h) => {
        const format = specFormat(req.headers['content-type'], req.query.format);
        // Loaded on demand, as the runner does: the spec schemas are costly to build.
        const { loadSpecText } = await import('@sluice/core/spec');
        const spec = loadSpecText(req.body, { format, source: 'request body' });
        const id = await createWorkflow(h, spec, { initialize: req.query.initialize ?? false });
        return (await workflowStatus(h, id)).status;
      });
      return reply.code(201).send(status);
    },
  );
};
