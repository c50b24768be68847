import { ERROR_CODES, type ErrorCode, isSluiceError, SluiceError, toSluiceError } from '@sluice/core';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { Problem } from './api-schemas.js';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/** A problem's type is a stable URI per error code, so that clients may switch on either. */
export const problemType = (code: ErrorCode): string => `urn:sluice:error:${code}`;

/** The registry's USAGE message speaks of the command line; over HTTP it is the request. */
const titleOf = (code: ErrorCode) => (code === 'USAGE' ? 'invalid request' : ERROR_CODES[code].message);

export function problemOf(code: ErrorCode, detail: string, status: number = ERROR_CODES[code].http): Problem {
  return { type: problemType(code), title: titleOf(code), status, detail, code };
}

const VALIDATION_PLACE: Record<string, string> = {
  body: 'body',
  params: 'path parameter',
  querystring: 'query parameter',
  headers: 'header',
};

/** Validation failures name the place and field: "query parameter limit: Too big: expected number to be <=1000". */
function validationDetail(error: FastifyError): string {
  const first = error.validation?.[0];
  const place = VALIDATION_PLACE[error.validationContext ?? ''] ?? 'request';
  const field = (first?.instancePath ?? '').replace(/^\//, '').replaceAll('/', '.');
  const message = first?.message ?? 'invalid';
  if (!field) return `${place === 'body' ? 'body' : `${place}s`}: ${message}`;
  return `${place} ${field}: ${message}`;
}

/** Fastify's own client errors (unreadable body, too large, media type) keep their status. */
const FASTIFY_CLIENT_ERRORS: Record<string, (e: FastifyError) => string> = {
  FST_ERR_CTP_BODY_TOO_LARGE: () => 'the request body is larger than this route accepts',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: (e) => e.message.replace(/^Unsupported Media Type: ?/, 'unsupported Content-Type: '),
  FST_ERR_CTP_INVALID_JSON_BODY: () => 'the request body is not valid JSON',
  FST_ERR_CTP_EMPTY_JSON_BODY: () => 'the request body is empty but Content-Type says application/json',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: () => 'Content-Length does not match the body',
};

/**
 * The problem to answer for any error a route or fastify raised. Sluice errors keep their code
 * and the registry's HTTP status; anything unforeseen is a 500 whose detail says nothing about
 * the inside (the log gets the error).
 */
export function toProblem(error: unknown, bodyLimitBytes?: number): { problem: Problem; internal: boolean } {
  const fe = error as FastifyError;
  if (hasZodFastifySchemaValidationErrors(fe)) {
    return { problem: problemOf('USAGE', validationDetail(fe), 400), internal: false };
  }
  if (fe && typeof fe === 'object' && typeof fe.code === 'string' && fe.code in FASTIFY_CLIENT_ERRORS) {
    const status = fe.statusCode ?? 400;
    let detail = (FASTIFY_CLIENT_ERRORS[fe.code] as (e: FastifyError) => string)(fe);
    if (fe.code === 'FST_ERR_CTP_BODY_TOO_LARGE' && bodyLimitBytes)
      detail = `the request body is larger than the ${formatBytes(bodyLimitBytes)} this route accepts`;
    return { problem: problemOf('USAGE', detail, status), internal: false };
  }
  if (fe?.code === 'FST_ERR_RESPONSE_SERIALIZATION') {
    return { problem: problemOf('SLUICE_INTERNAL', 'internal error'), internal: true };
  }
  const e = toSluiceError(error);
  if (isSluiceError(e)) {
    return { problem: problemOf(e.code, e.message), internal: e.httpStatus >= 500 };
  }
  const status = fe?.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return { problem: problemOf('USAGE', fe.message || 'invalid request', status), internal: false };
  }
  return { problem: problemOf('SLUICE_INTERNAL', 'internal error'), internal: true };
}

function formatBytes(n: number): string {
  const mib = n / (1024 * 1024);
  return Number.isInteger(mib) ? `${mib} MiB` : `${n} bytes`;
}

export function sendProblem(reply: FastifyReply, problem: Problem): FastifyReply {
  if (problem.status === 401) reply.header('www-authenticate', 'Bearer realm="sluice"');
  return reply.status(problem.status).type(PROBLEM_CONTENT_TYPE).send(problem);
}

/** The 401 for a request without a usable token; the same words whatever was wrong with it. */
export function unauthenticated(): SluiceError {
  return new SluiceError('UNAUTHENTICATED', 'a valid API token is required: Authorization: Bearer <token>');
}

export function notFoundProblem(req: FastifyRequest): Problem {
  return problemOf('USAGE', `no route ${req.method} ${req.url.split('?')[0]}`, 404);
}

/** Error responses for the OpenAPI document, as application/problem+json. */
export function problemResponses<S extends number>(...statuses: S[]) {
  const description: Record<number, string> = {
    400: 'invalid request (the field is named in detail)',
    401: 'no valid API token',
    404: 'no such workflow or worker (or not yours)',
    409: 'the workflow is not in a state that allows this',
    413: 'request body too large',
    415: 'unsupported Content-Type',
    503: 'the database cannot be reached',
  };
  return Object.fromEntries(
    statuses.map((s) => [
      s,
      { description: description[s] ?? 'error', content: { 'application/problem+json': { schema: Problem } } },
    ]),
  ) as Record<S, { description: string; content: { 'application/problem+json': { schema: typeof Problem } } }>;
}
