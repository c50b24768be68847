import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isSluiceError } from '@sluice/core';
import { loadSpecText, type ResolvedWorkflow, type SpecFormat } from '@sluice/core/spec';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';

/**
 * Whatever text arrives, the loader returns a workflow or throws a SluiceError whose message is
 * one line: never another error, never a hang. Sizes are bounded so the whole file runs in a few
 * seconds; the counts of cases run are printed at the end.
 */

const FORMATS: readonly SpecFormat[] = ['yaml', 'json', 'json5', 'kdl'];
const fixture = (name: string) => readFileSync(join(import.meta.dirname, 'fixtures', name), 'utf8');
const BASE_DATA = JSON.parse(fixture('pipeline.json')) as Record<string, unknown>;
const BASE_TEXT: Record<SpecFormat, string> = {
  yaml: fixture('pipeline.yaml'),
  json: fixture('pipeline.json'),
  json5: fixture('pipeline.json5'),
  kdl: fixture('pipeline.kdl'),
};

let cases = 0;
const accepted: Record<string, number> = {};
const refused: Record<string, number> = {};

/** The property itself: a workflow, or one SluiceError of a spec code with a one-line message. */
function checkLoad(text: string, format: SpecFormat, kind: string): void {
  cases++;
  try {
    const workflow = loadSpecText(text, { format, source: 'fuzz' });
    expectInsertable(workflow);
    accepted[kind] = (accepted[kind] ?? 0) + 1;
  } catch (e) {
    if (!isSluiceError(e)) throw new Error(`${format} ${kind}: not a SluiceError: ${String(e)}`, { cause: e });
    expect(e.code).toMatch(/^SPEC_/);
    expect(e.message).not.toMatch(/[\n\r]/);
    refused[kind] = (refused[kind] ?? 0) + 1;
  }
}

const INT4 = 2_147_483_647;

/** What PostgreSQL will be handed: no NUL or broken Unicode in any string, every count an int4, names indexable. */
function expectInsertable(workflow: ResolvedWorkflow): void {
  const stack: unknown[] = [workflow];
  while (stack.length > 0) {
    const value = stack.pop();
    if (typeof value === 'string') {
      expect(value.includes('\0')).toBe(false);
      expect((value as unknown as { isWellFormed(): boolean }).isWellFormed()).toBe(true);
    } else if (typeof value === 'number') {
      expect(Number.isFinite(value) || Number.isNaN(value)).toBe(true);
    } else if (value !== null && typeof value === 'object') {
      for (const [key, item] of Object.entries(value)) {
        expect(key.includes('\0')).toBe(false);
        stack.push(item);
      }
    }
  }
  const names = [
    workflow.jobs,
    workflow.files,
    workflow.userData,
    workflow.resourceRequirements,
    workflow.slurmSchedulers,
    workflow.failureHandlers,
  ];
  for (const list of names) for (const item of list) expect(item.name.length).toBeLessThanOrEqual(512);
  for (const r of workflow.resourceRequirements) {
    for (const n of [r.numCpus, r.numGpus, r.numNodes]) expect(Number.isInteger(n) && n >= 0 && n <= INT4).toBe(true);
    expect(Number.isSafeInteger(r.memoryBytes) && Number.isSafeInteger(r.runtimeSeconds)).toBe(true);
  }
  for (const job of workflow.jobs) {
    expect(Number.isInteger(job.priority) && job.priority >= 0 && job.priority <= INT4).toBe(true);
    expect(job.command.length).toBeLessThanOrEqual(1024 * 1024);
  }
  for (const action of workflow.actions) {
    for (const n of [action.numAllocations, action.maxParallelJobs])
      if (n !== null) expect(n >= 1 && n <= INT4).toBe(true);
  }
  for (const handler of workflow.failureHandlers) {
    for (const rule of handler.rules) {
      expect(rule.maxRetries >= 1 && rule.maxRetries <= INT4).toBe(true);
      for (const code of rule.exitCodes ?? []) expect(code >= 0 && code <= 255).toBe(true);
    }
  }
}

const NASTY_STRINGS = [
  '',
  '\u0000',
  'a\u0000b',
  '\ud800',
  '\udfff x',
  "'; DROP TABLE sluice.jobs; --",
  '$(rm -rf /) `id` ${HOME} && || ; | > <',
  '{i}',
  '{',
  '}{',
  '{{x}}',
  '${files.input.raw}',
  '${user_data.input.config}',
  '${files.}',
  '(a+)+$',
  '[',
  '\\',
  'P1M',
  'PT1.5S',
  '1:3',
  '3:1',
  '1:2:0',
  "['a','b']",
  '[1,,2]',
  '\u202e\u{1f600}\u00e9\u4e2d',
  'x'.repeat(600),
];

const wildValue: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.constantFrom(...NASTY_STRINGS),
    fc.string({ unit: 'binary', maxLength: 40 }),
    fc.string({ maxLength: 5000 }),
    fc.constantFrom(0, -1, 1, 2 ** 31, 2 ** 31 - 1, 2 ** 53, -0, 1.5, 1e308, Number.NaN, Number.POSITIVE_INFINITY),
    fc.integer(),
    fc.double(),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(fc.constantFrom('name', 'command', 'jobs', 'x', '__proto__', 'data', 'rules'), tie('value'), {
      maxKeys: 4,
    }),
  ),
})).value;

type Step = { at: number[]; op: 'delete' | 'set' | 'insert'; key: string; value: unknown };

/** Applies random deletions, replacements and insertions along random paths of a copy of the data. */
function mutate(data: unknown, steps: readonly Step[]): unknown {
  const root = structuredClone(data);
  for (const step of steps) {
    let node: unknown = root;
    for (const choice of step.at) {
      const children = node !== null && typeof node === 'object' ? Object.values(node) : [];
      const next = children[choice % Math.max(children.length, 1)];
      if (next === null || typeof next !== 'object') break;
      node = next;
    }
    if (node === null || typeof node !== 'object') continue;
    const record = node as Record<string, unknown>;
    const keys = Object.keys(record);
    const key = keys.length && step.op !== 'insert' ? (keys[step.key.length % keys.length] as string) : step.key;
    if (step.op === 'delete') delete record[key];
    else if (Array.isArray(node) && step.op === 'insert') node.push(step.value);
    else
      Object.defineProperty(record, key, { value: step.value, enumerable: true, writable: true, configurable: true });
  }
  return root;
}

const step: fc.Arbitrary<Step> = fc.record({
  at: fc.array(fc.nat(20), { maxLength: 5 }),
  op: fc.constantFrom('delete', 'set', 'insert'),
  key: fc.constantFrom(
    'name',
    'command',
    'priority',
    'failure_handler',
    'num_allocations',
    'exit_codes',
    'variables',
    'depends_on',
    'parameters',
    'is_ephemeral',
    'comand',
    '\u0000',
    'resource_monitor',
  ),
  value: wildValue,
});

/**
 * The data as text: JSON; for JSON5 with unquoted keys and trailing commas; for YAML, JSON is
 * YAML too (flow style), and block-style YAML comes from the character-level edits below.
 */
function serialize(data: unknown, format: SpecFormat): string {
  const text = JSON.stringify(data, null, 1) ?? 'null';
  if (format !== 'json5') return text;
  return text.replace(/"([A-Za-z_][A-Za-z0-9_]*)":/g, '$1:').replace(/([}\]"\d])\n(\s*[}\]])/g, '$1,\n$2');
}

/** Character-level edits of a valid text: what a hand-edited spec file looks like mid-edit. */
const textEdit = fc.record({
  at: fc.nat(),
  drop: fc.nat(12),
  insert: fc.oneof(
    fc.constantFrom(
      '{',
      '}',
      '[',
      ']',
      '"',
      "'",
      ':',
      ',',
      '\n',
      '#',
      '//',
      '/*',
      '&a',
      '*a',
      '- ',
      '\\',
      ';',
      '=',
      '\u0000',
      ' ',
    ),
    fc.string({ maxLength: 8 }),
  ),
});

function editText(text: string, edits: readonly { at: number; drop: number; insert: string }[]): string {
  let out = text;
  for (const edit of edits) {
    const at = edit.at % (out.length + 1);
    out = out.slice(0, at) + edit.insert + out.slice(at + edit.drop);
  }
  return out;
}

describe('fuzzing the spec loader', () => {
  afterAll(() => {
    console.log(
      `spec fuzz: ${cases} cases run; accepted ${JSON.stringify(accepted)}; refused with one line ${JSON.stringify(refused)}`,
    );
  });

  it('survives random mutations of a valid spec in YAML, JSON and JSON5', () => {
    fc.assert(
      fc.property(
        fc.array(step, { minLength: 1, maxLength: 6 }),
        fc.constantFrom<SpecFormat>('yaml', 'json', 'json5'),
        (steps, format) => {
          checkLoad(serialize(mutate(BASE_DATA, steps), format), format, 'mutated data');
        },
      ),
      { numRuns: 700 },
    );
  }, 60_000);

  it('survives character-level edits of valid text in all four formats', () => {
    fc.assert(
      fc.property(fc.constantFrom(...FORMATS), fc.array(textEdit, { minLength: 1, maxLength: 4 }), (format, edits) => {
        checkLoad(editText(BASE_TEXT[format], edits), format, 'edited text');
      }),
      { numRuns: 700 },
    );
  }, 60_000);

  it('survives random text and random data', () => {
    fc.assert(
      fc.property(fc.constantFrom(...FORMATS), fc.string({ unit: 'grapheme', maxLength: 300 }), (format, text) => {
        checkLoad(text, format, 'random text');
      }),
      { numRuns: 400 },
    );
    fc.assert(
      fc.property(fc.constantFrom<SpecFormat>('yaml', 'json', 'json5'), wildValue, (format, data) => {
        checkLoad(serialize(data, format), format, 'random data');
      }),
      { numRuns: 300 },
    );
  }, 60_000);

  it('survives deep nesting, alias bombs and huge values', () => {
    for (const depth of [10, 63, 64, 65, 500, 5000, 20_000]) {
      const nested = `${'['.repeat(depth)}1${']'.repeat(depth)}`;
      const inData = `{"name": "w", "jobs": [{"name": "a", "command": "x"}], "user_data": [{"name": "u", "data": ${nested}}]}`;
      for (const format of ['yaml', 'json', 'json5'] as const) checkLoad(inData, format, 'deep nesting');
      checkLoad(`name "w"\n${'a {\n'.repeat(depth)}${'}\n'.repeat(depth)}`, 'kdl', 'deep nesting');
    }
    let bomb = 'a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n';
    for (let i = 1; i < 9; i++)
      bomb += `a${i}: &a${i} [${Array(9)
        .fill(`*a${i - 1}`)
        .join(',')}]\n`;
    checkLoad(
      `name: w\njobs:\n  - name: a\n    command: x\nmetadata:\n  ${bomb.replaceAll('\n', '\n  ')}`,
      'yaml',
      'alias bomb',
    );
    checkLoad(`name: w\njobs: &j\n  - name: a\n    command: x\nfiles: *j\nuser_data: *j\n`, 'yaml', 'alias bomb');
    const huge = 'x'.repeat(1024 * 1024 + 1);
    for (const format of ['yaml', 'json', 'json5'] as const) {
      checkLoad(serialize({ ...BASE_DATA, description: huge }, format), format, 'huge value');
      checkLoad(serialize({ ...BASE_DATA, jobs: [{ name: huge, command: huge }] }, format), format, 'huge value');
    }
    checkLoad(`name "w"\njob "a" { command "${huge}"; }\n`, 'kdl', 'huge value');
  }, 60_000);
});
