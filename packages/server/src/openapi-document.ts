import type { SwaggerOptions } from '@fastify/swagger';
import { createJsonSchemaTransform, createJsonSchemaTransformObject } from 'fastify-type-provider-zod';
import { apiRegistry } from './api-schemas.js';

type Components = { schemas?: Record<string, unknown> };

/**
 * The transform emits an input and an output variant of every named schema; only those that a
 * route (or another schema) refers to stay in the document.
 */
function pruneUnreferenced<T extends { components?: Components }>(doc: T): T {
  const schemas = doc.components?.schemas;
  if (!schemas) return doc;
  const kept = { ...schemas };
  for (;;) {
    const text = JSON.stringify({ ...doc, components: { ...doc.components, schemas: kept } });
    const unused = Object.keys(kept).filter((name) => !text.includes(`"#/components/schemas/${name}"`));
    if (unused.length === 0) break;
    for (const name of unused) delete kept[name];
  }
  return { ...doc, components: { ...doc.components, schemas: kept } };
}

const transformObject = createJsonSchemaTransformObject({ schemaRegistry: apiRegistry });

/** @fastify/swagger's options: OpenAPI 3.1 from the routes' zod schemas. */
export const swaggerOptions: SwaggerOptions = {
  openapi: {
    openapi: '3.1.0',
    info: {
      title: 'Sluice API',
      version: '1',
      description: 'Workflows of the token’s user (row-level security decides what each user sees). See docs/api.md.',
    },
    components: { securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer' } } },
    security: [{ bearerAuth: [] }],
  },
  transform: createJsonSchemaTransform({ schemaRegistry: apiRegistry }),
  transformObject: (doc) => pruneUnreferenced(transformObject(doc) as { components?: Components }) as never,
};
