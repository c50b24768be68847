import { type ErrorCode, SluiceError } from '../errors.js';

/** Where something sits in the spec as written: keys and list indices, e.g. ['jobs', 3, 'depends_on', 0]. */
export type SpecPath = readonly (string | number)[];

/** Whether an error points at a key itself (unknown keys) or at its value. */
export type SpecTarget = 'key' | 'value';

/** Throws a SluiceError about one place in the spec; callers bind the place, the problem comes later. */
export type Fail = (code: ErrorCode, problem: string) => never;

/** What the value parsers return: a value, or a problem for the caller to place in the spec. */
export type Parsed<T> = { value: T } | { problem: string };

/** Maps a path in the parsed spec back to a line in its text. */
export interface SpecLocator {
  lineOf(path: SpecPath, target: SpecTarget): number | undefined;
}

const PLAIN_KEY = /^[A-Za-z_][A-Za-z0-9_-]*$/;

export function formatPath(path: SpecPath): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (PLAIN_KEY.test(segment)) out += out === '' ? segment : `.${segment}`;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out;
}

const CONTROLS: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/** A user's text in a message with its control characters escaped, so the message stays one line. */
function escapeControls(text: string): string {
  let out = '';
  for (const c of text) {
    const code = c.charCodeAt(0);
    out += code >= 0x20 && code !== 0x7f ? c : (CONTROLS[c] ?? `\\u${code.toString(16).padStart(4, '0')}`);
  }
  return out;
}

/** Quotes a user's value for a message, short enough to keep the message on one line. */
export function describeValue(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') {
    const oneLine = value.replace(/\s*\n\s*/g, ' ');
    return JSON.stringify(oneLine.length > 80 ? `${oneLine.slice(0, 77)}...` : oneLine);
  }
  return String(value);
}

export function quoteList(values: readonly string[], limit = 10): string {
  const shown = values.slice(0, limit).map((v) => JSON.stringify(v));
  if (values.length > limit) shown.push(`... (${values.length - limit} more)`);
  return shown.join(', ');
}

/** A parser's complaint as one line; a blown stack (user nesting) said in the user's terms. */
export function syntaxProblem(e: unknown): string {
  const message = e instanceof Error ? e.message : String(e);
  if (e instanceof RangeError || /Maximum call stack size exceeded/.test(message))
    return 'nesting is too deep to parse';
  return message.split('\n')[0]?.trim() ?? '';
}

/**
 * Builds the one-line errors users see: `<source>:<line>: <path>: <problem>`. The line is left
 * out when the text gives none (a JSON file we could not map), the path when the problem is
 * about the whole file.
 */
export class SpecReporter {
  constructor(
    readonly source: string,
    private readonly locator: SpecLocator | undefined,
  ) {}

  lineOf(path: SpecPath, target: SpecTarget = 'value'): number | undefined {
    return this.locator?.lineOf(path, target);
  }

  error(code: ErrorCode, path: SpecPath, problem: string, target: SpecTarget = 'value'): SluiceError {
    return this.errorAtLine(code, formatPath(path), this.lineOf(path, target), problem);
  }

  errorAtLine(code: ErrorCode, path: string, line: number | undefined, problem: string): SluiceError {
    const where = line === undefined ? this.source : `${this.source}:${line}`;
    // Problems quote names and values from the spec: none of them may break the line.
    const message = escapeControls(path === '' ? `${where}: ${problem}` : `${where}: ${path}: ${problem}`);
    const details: Record<string, unknown> = { path };
    if (line !== undefined) details.line = line;
    return new SluiceError(code, message, details);
  }

  failAt(path: SpecPath, target: SpecTarget = 'value'): Fail {
    return (code, problem) => {
      throw this.error(code, path, problem, target);
    };
  }

  /** `jobs[2] (line 7)`: how a message names a second place, beside the one it points at. */
  describePlace(path: SpecPath): string {
    const line = this.lineOf(path);
    return line === undefined ? formatPath(path) : `${formatPath(path)} (line ${line})`;
  }
}
