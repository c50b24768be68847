/**
 * The one registry of Sluice error codes. A code is an interface: once shipped it keeps its
 * meaning forever and is never reused for something else, even after the error is retired.
 * `exit` is the CLI exit code (1 failure, 2 usage or validation), `http` the API status.
 */
export const ERROR_CODES = {
  SLUICE_INTERNAL: { message: 'internal error', http: 500, exit: 1 },
  SPEC_READ_FAILED: { message: 'cannot read the workflow spec', http: 400, exit: 2 },
  SPEC_SYNTAX: { message: 'the workflow spec is not valid YAML or JSON', http: 400, exit: 2 },
  SPEC_INVALID: { message: 'the workflow spec is invalid', http: 400, exit: 2 },
  SPEC_UNKNOWN_REFERENCE: { message: 'the workflow spec names something it does not define', http: 400, exit: 2 },
  SPEC_DUPLICATE_NAME: { message: 'the workflow spec defines a name twice', http: 400, exit: 2 },
  SPEC_BAD_REGEX: { message: 'a regular expression in the workflow spec is invalid', http: 400, exit: 2 },
  SPEC_REGEX_NO_MATCH: { message: 'a regular expression in the workflow spec matches nothing', http: 400, exit: 2 },
  SPEC_CYCLE: { message: 'the workflow spec has a dependency cycle', http: 400, exit: 2 },
  SPEC_BAD_PARAMETER: { message: 'a parameter in the workflow spec is invalid', http: 400, exit: 2 },
  SPEC_UNSUPPORTED_KEY: { message: 'the workflow spec uses a key Sluice does not support', http: 400, exit: 2 },
  USAGE: { message: 'invalid command-line usage', http: 400, exit: 2 },
  DB_CONNECT_FAILED: { message: 'cannot connect to PostgreSQL', http: 503, exit: 1 },
  DB_NOT_MIGRATED: { message: 'the database schema is behind the code', http: 503, exit: 1 },
  DB_AHEAD_OF_CODE: { message: 'the database schema is ahead of the code', http: 503, exit: 1 },
  EMBEDDED_PG_FAILED: { message: 'the embedded PostgreSQL server failed', http: 503, exit: 1 },
  WORKFLOW_NOT_FOUND: { message: 'no such workflow', http: 404, exit: 1 },
  WORKFLOW_CANCELED: { message: 'the workflow is canceled', http: 409, exit: 1 },
  WORKFLOW_STATE: { message: 'the workflow is not in a state that allows this', http: 409, exit: 1 },
  WORKER_FAILED: { message: 'the worker failed', http: 500, exit: 1 },
  ALLOCATION_NOT_FOUND: { message: 'no such Slurm allocation', http: 404, exit: 1 },
  TOKEN_NOT_FOUND: { message: 'no such API token', http: 404, exit: 1 },
  UNAUTHENTICATED: { message: 'a valid API token is required', http: 401, exit: 1 },
  OUTPUT_DIR_UNUSABLE: { message: 'the output directory cannot be created or written', http: 400, exit: 2 },
  PERMISSION_DENIED: { message: 'PostgreSQL refused this to the connected role', http: 403, exit: 1 },
  WORKER_NOT_FOUND: { message: 'no such worker', http: 404, exit: 1 },
} as const satisfies Record<string, { message: string; http: number; exit: 1 | 2 }>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** An error meant for a user: its message is one line that names the problem. */
export class SluiceError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown> | undefined;
  constructor(code: ErrorCode, message?: string, details?: Record<string, unknown>) {
    super(message ?? ERROR_CODES[code].message);
    this.name = 'SluiceError';
    this.code = code;
    this.details = details;
  }
  get httpStatus(): number {
    return ERROR_CODES[this.code].http;
  }
  get exitCode(): 1 | 2 {
    return ERROR_CODES[this.code].exit;
  }
}

export function isSluiceError(e: unknown): e is SluiceError {
  return e instanceof SluiceError;
}

export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && Object.hasOwn(ERROR_CODES, code);
}
