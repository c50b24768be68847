import * as z from 'zod';
import type { ErrorCode } from '../errors.js';
import { UNSUPPORTED_SCHEMAS } from './schema-primitives.js';
import { describeValue, type SpecPath, type SpecReporter, type SpecTarget } from './spec-error.js';
import { WorkflowSpec } from './spec-schema.js';

interface SpecIssue {
  code: ErrorCode;
  path: SpecPath;
  target: SpecTarget;
  problem: string;
  /** A misspelled key also makes a required key look missing; the misspelling is the one to report. */
  aboutKey: boolean;
}

/** Checks the shape of a parsed spec, or throws the first problem in it (by line) as a one-line error. */
export function validateSpec(value: unknown, reporter: SpecReporter): WorkflowSpec {
  if (value === null || value === undefined) {
    throw reporter.errorAtLine(
      'SPEC_INVALID',
      '',
      undefined,
      'the spec is empty: expected a mapping with at least "name" and "jobs"',
    );
  }
  const result = WorkflowSpec.safeParse(value, { reportInput: true });
  if (result.success) return result.data;
  // A huge number fails both the safe-integer range of z.int() and our own bound; ours says more.
  const issues = result.error.issues;
  const meaningful = issues.filter((issue) => !('origin' in issue && issue.origin === 'int'));
  const ranked = (meaningful.length > 0 ? meaningful : issues)
    .flatMap(toSpecIssues)
    .map((issue, order) => ({
      issue,
      order,
      line: reporter.lineOf(issue.path, issue.target) ?? Number.MAX_SAFE_INTEGER,
    }))
    .sort((a, b) => Number(b.issue.aboutKey) - Number(a.issue.aboutKey) || a.line - b.line || a.order - b.order);
  const first = (ranked[0] as (typeof ranked)[number]).issue;
  return reporter.failAt(first.path, first.target)(first.code, first.problem);
}

function toSpecIssues(issue: z.core.$ZodIssue): SpecIssue[] {
  const at = (problem: string, code: ErrorCode = 'SPEC_INVALID'): SpecIssue[] => [
    { code, path: issue.path as SpecPath, target: 'value', problem, aboutKey: false },
  ];
  const got = 'input' in issue && issue.input !== undefined ? `, got ${describeValue(issue.input)}` : '';
  const key = issue.path[issue.path.length - 1];
  const customCode = issue.code === 'custom' ? (issue.params as { code?: ErrorCode } | undefined)?.code : undefined;
  if (customCode === 'SPEC_UNSUPPORTED_KEY') {
    // Ranked with unknown keys: a torc feature Sluice lacks explains the rest of its object.
    return [{ code: customCode, path: issue.path as SpecPath, target: 'key', problem: issue.message, aboutKey: true }];
  }
  // A required key that is absent fails its type or enum check with no input.
  if ((issue.code === 'invalid_type' || issue.code === 'invalid_value') && !got && typeof key === 'string') {
    const path = issue.path.slice(0, -1) as SpecPath;
    return [
      {
        code: 'SPEC_INVALID',
        path,
        target: 'value',
        problem: `missing required key ${JSON.stringify(key)}`,
        aboutKey: false,
      },
    ];
  }
  switch (issue.code) {
    case 'unrecognized_keys':
      return issue.keys.map((unknown) => ({
        code: 'SPEC_INVALID',
        path: [...(issue.path as SpecPath), unknown],
        target: 'key',
        problem: `unknown key ${JSON.stringify(unknown)}${suggestion(unknown, knownKeysAt(issue.path as SpecPath))}`,
        aboutKey: true,
      }));
    case 'invalid_type':
      return at(`expected ${TYPE_NAMES[issue.expected] ?? issue.expected}${got}`);
    case 'too_small':
    case 'too_big':
      // "expected a non-empty list, got a list" says nothing the first half did not.
      return at(
        issue.origin === 'number' || issue.origin === 'int' ? `${sizeProblem(issue)}${got}` : sizeProblem(issue),
      );
    case 'invalid_value':
      return at(
        `expected ${issue.values.length === 1 ? '' : 'one of '}${issue.values.map((v) => JSON.stringify(v)).join(', ')}${got}`,
      );
    case 'invalid_key':
      return [
        {
          code: 'SPEC_INVALID',
          path: issue.path as SpecPath,
          target: 'key',
          problem: issue.issues[0]?.message ?? issue.message,
          aboutKey: false,
        },
      ];
    case 'custom':
      return at(issue.message, customCode ?? 'SPEC_INVALID');
    default:
      return at(`${issue.message}${got}`);
  }
}

const TYPE_NAMES: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'an integer',
  boolean: 'true or false',
  array: 'a list',
  object: 'a mapping',
  record: 'a mapping',
};

function sizeProblem(issue: z.core.$ZodIssueTooSmall | z.core.$ZodIssueTooBig): string {
  const small = issue.code === 'too_small';
  const bound = Number(small ? (issue as z.core.$ZodIssueTooSmall).minimum : (issue as z.core.$ZodIssueTooBig).maximum);
  if (issue.origin === 'array')
    return small && bound === 1
      ? 'expected a non-empty list'
      : `expected ${small ? 'at least' : 'at most'} ${bound} items`;
  if (issue.origin === 'string') {
    if (small && bound === 1) return 'expected a non-empty string';
    const length = typeof issue.input === 'string' ? `, got ${issue.input.length}` : '';
    return `expected ${small ? 'at least' : 'at most'} ${bound} characters${length}`;
  }
  const relation = small ? (issue.inclusive ? '>=' : '>') : issue.inclusive ? '<=' : '<';
  return `expected a number ${relation} ${bound}`;
}

/** The keys an object at this path may have, to suggest one for a misspelling. */
function knownKeysAt(path: SpecPath): string[] {
  let schema: unknown = WorkflowSpec;
  for (const segment of [...path, undefined]) {
    for (;;) {
      if (schema instanceof z.ZodOptional || schema instanceof z.ZodNullable) schema = schema.unwrap();
      // A preprocessed object (legacy key names) is a pipe from a transform into the object.
      else if (schema instanceof z.ZodPipe) schema = schema.in instanceof z.ZodTransform ? schema.out : schema.in;
      else break;
    }
    if (segment === undefined) break;
    if (schema instanceof z.ZodObject) schema = (schema.shape as Record<string, unknown>)[String(segment)];
    else if (schema instanceof z.ZodArray) schema = schema.element;
    else if (schema instanceof z.ZodRecord) schema = schema.valueType;
    else return [];
  }
  if (!(schema instanceof z.ZodObject)) return [];
  return Object.entries(schema.shape as Record<string, unknown>)
    .filter(([, field]) => !UNSUPPORTED_SCHEMAS.has(field as z.ZodType))
    .map(([key]) => key);
}

function suggestion(key: string, known: readonly string[]): string {
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(key.length / 3)) + 1;
  for (const candidate of known) {
    const distance = editDistance(key.toLowerCase(), candidate);
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best === undefined ? '' : ` (did you mean "${best}"?)`;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current[j] = Math.min((previous[j] as number) + 1, (current[j - 1] as number) + 1, substitution);
    }
    previous = current;
  }
  return previous[b.length] as number;
}
