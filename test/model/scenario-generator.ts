import { TRIGGER_TYPES, type TriggerType } from '@sluice/core';
import fc from 'fast-check';
import { defaultPersistent, JOB_TRIGGERS, type ModelActionSpec, type ModelJobSpec } from './workflow-model.js';

/**
 * Random scenarios for the model-based test: a DAG of jobs, a set of actions selecting jobs by
 * name and by regex, and a sequence of operations. Operations name workers, held jobs and held
 * action runs by small numbers taken modulo what exists when they run, so that a shrunk
 * sequence stays meaningful.
 */

export type JobOutcome = 'completed' | 'failed';
export type AdminStatus = 'completed' | 'failed' | 'canceled' | 'disabled' | 'ready';
export type RunOutcome = 'succeeded' | 'failed';

export type Op =
  | { kind: 'initialize' }
  | { kind: 'reinitialize' }
  | { kind: 'cancel' }
  | { kind: 'reset'; failedOnly: boolean }
  | { kind: 'register' }
  | { kind: 'claimJobs'; worker: number; limit: number }
  | { kind: 'completeJob'; held: number; outcome: JobOutcome }
  | { kind: 'reap'; worker: number }
  | { kind: 'runAction'; worker: number; outcome: RunOutcome | 'hold' }
  | { kind: 'finishAction'; held: number; outcome: RunOutcome }
  | { kind: 'leave'; worker: number }
  | { kind: 'admin'; job: number; status: AdminStatus }
  /** a fresh worker runs every action it can, claims ready jobs and finishes them */
  | { kind: 'drive'; outcomes: JobOutcome[] };

export interface ActionDraft {
  trigger: TriggerType;
  /** undefined: the default for the trigger */
  persistent: boolean | undefined;
  names: number[];
  regexes: string[];
}

export interface Scenario {
  jobs: ModelJobSpec[];
  actions: ActionDraft[];
  viaYaml: boolean;
  ops: Op[];
}

const PREFIXES = ['prep', 'train', 'eval', 'post'] as const;
export const jobName = (i: number) => `${PREFIXES[i % PREFIXES.length]}_${i}`;

/** Patterns in the seed document's style; each is used only when it matches some job. */
export const REGEX_POOL = [
  'train_.*',
  'prep_[0-9]+',
  '.*_1',
  '(eval|post)_.*',
  '.*_1[0-9]',
  'train_(1|5|9)',
  'post_[0-9]*3',
  '[a-z]+_[02468]',
  'eval_2',
];

/** Anchored, as the spec loader matches whole names. */
export function regexMatches(pattern: string, names: readonly string[]): number[] {
  const re = new RegExp(`^(?:${pattern})$`);
  return names.map((n, i) => (re.test(n) ? i : -1)).filter((i) => i >= 0);
}

/** The jobs an action selects: its names plus every match of its regexes, sorted and unique. */
export function resolveSelection(draft: ActionDraft, names: readonly string[]): number[] {
  if (!JOB_TRIGGERS.includes(draft.trigger)) return [];
  const all = new Set(draft.names);
  for (const r of draft.regexes) for (const i of regexMatches(r, names)) all.add(i);
  return [...all].sort((a, b) => a - b);
}

export function toModelActions(s: Scenario): ModelActionSpec[] {
  const names = s.jobs.map((j) => j.name);
  return s.actions.map((a) => ({
    trigger: a.trigger,
    persistent: a.persistent ?? defaultPersistent(a.trigger),
    jobs: resolveSelection(a, names),
  }));
}

const jobsArb = fc
  .array(fc.record({ depSeeds: fc.array(fc.nat(), { maxLength: 3 }), cob: fc.boolean() }), {
    minLength: 2,
    maxLength: 25,
  })
  .map((rows) =>
    rows.map(
      (r, i): ModelJobSpec => ({
        name: jobName(i),
        deps: i === 0 ? [] : [...new Set(r.depSeeds.map((d) => d % i))].sort((a, b) => a - b),
        // cancel_on_blocking_job_failure is the default: mostly true.
        cob: r.cob || i % 2 === 1,
      }),
    ),
  );

const actionArb = fc.record({
  trigger: fc.constantFrom(...TRIGGER_TYPES),
  persistent: fc.option(fc.boolean(), { nil: undefined, freq: 3 }),
  nameSeeds: fc.array(fc.nat(), { maxLength: 4 }),
  regexes: fc.array(fc.constantFrom(...REGEX_POOL), { maxLength: 2 }),
});

function draftActions(
  rows: { trigger: TriggerType; persistent: boolean | undefined; nameSeeds: number[]; regexes: string[] }[],
  jobs: ModelJobSpec[],
): ActionDraft[] {
  const names = jobs.map((j) => j.name);
  return rows.map((r) => {
    if (!JOB_TRIGGERS.includes(r.trigger))
      return { trigger: r.trigger, persistent: r.persistent, names: [], regexes: [] };
    const regexes = [...new Set(r.regexes)].filter((p) => regexMatches(p, names).length > 0);
    let picked = [...new Set(r.nameSeeds.map((n) => n % jobs.length))].sort((a, b) => a - b);
    if (picked.length === 0 && regexes.length === 0) picked = [(r.nameSeeds.length * 7) % jobs.length];
    return { trigger: r.trigger, persistent: r.persistent, names: picked, regexes };
  });
}

const small = fc.nat({ max: 7 });

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    arbitrary: fc.record({
      kind: fc.constant('drive'),
      outcomes: fc.array(fc.constantFrom<JobOutcome>('completed', 'completed', 'failed'), {
        minLength: 1,
        maxLength: 4,
      }),
    }),
    weight: 3,
  },
  { arbitrary: fc.record({ kind: fc.constant('register') }), weight: 3 },
  {
    arbitrary: fc.record({ kind: fc.constant('claimJobs'), worker: small, limit: fc.integer({ min: 1, max: 3 }) }),
    weight: 4,
  },
  {
    arbitrary: fc.record({
      kind: fc.constant('completeJob'),
      held: small,
      outcome: fc.constantFrom<JobOutcome>('completed', 'failed'),
    }),
    weight: 4,
  },
  { arbitrary: fc.record({ kind: fc.constant('reap'), worker: small }), weight: 2 },
  {
    arbitrary: fc.record({
      kind: fc.constant('runAction'),
      worker: small,
      outcome: fc.constantFrom<RunOutcome | 'hold'>('succeeded', 'failed', 'hold', 'hold'),
    }),
    weight: 6,
  },
  {
    arbitrary: fc.record({
      kind: fc.constant('finishAction'),
      held: small,
      outcome: fc.constantFrom<RunOutcome>('succeeded', 'failed'),
    }),
    weight: 4,
  },
  { arbitrary: fc.record({ kind: fc.constant('leave'), worker: small }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant('cancel') }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant('reset'), failedOnly: fc.boolean() }), weight: 3 },
  { arbitrary: fc.record({ kind: fc.constant('reinitialize') }), weight: 4 },
  { arbitrary: fc.record({ kind: fc.constant('initialize') }), weight: 1 },
  {
    arbitrary: fc.record({
      kind: fc.constant('admin'),
      job: fc.nat({ max: 24 }),
      status: fc.constantFrom<AdminStatus>('completed', 'failed', 'canceled', 'disabled', 'ready'),
    }),
    weight: 2,
  },
) as fc.Arbitrary<Op>;

export function scenarioArb(maxOps = 40): fc.Arbitrary<Scenario> {
  return jobsArb.chain((jobs) =>
    fc.record({
      jobs: fc.constant(jobs),
      actions: fc.array(actionArb, { minLength: 1, maxLength: 8 }).map((rows) => draftActions(rows, jobs)),
      // About a third of the specs go through the YAML loader and its regex engine.
      viaYaml: fc.nat({ max: 2 }).map((n) => n === 2),
      // Mostly initialized first; sometimes operations meet a workflow not yet initialized.
      ops: fc
        .tuple(fc.nat({ max: 9 }), fc.array(opArb, { maxLength: maxOps, size: 'max' }))
        .map(([r, ops]) => (r === 9 ? ops : [{ kind: 'initialize' } as Op, ...ops])),
    }),
  );
}

/** The scenario as a YAML spec, so that names and regexes go through the spec loader. */
export function scenarioYaml(s: Scenario): string {
  const q = (v: string) => JSON.stringify(v);
  const list = (vs: string[]) => `[${vs.map(q).join(', ')}]`;
  const lines = ['name: model', 'jobs:'];
  for (const j of s.jobs) {
    lines.push(`  - name: ${j.name}`, '    command: "true"');
    if (j.deps.length > 0) lines.push(`    depends_on: ${list(j.deps.map((d) => (s.jobs[d] as ModelJobSpec).name))}`);
    if (!j.cob) lines.push('    cancel_on_blocking_job_failure: false');
  }
  lines.push('actions:');
  for (const a of s.actions) {
    lines.push(`  - trigger_type: ${a.trigger}`, '    action_type: run_commands', '    commands: ["true"]');
    if (a.persistent !== undefined) lines.push(`    persistent: ${a.persistent}`);
    if (a.names.length > 0) lines.push(`    jobs: ${list(a.names.map((i) => (s.jobs[i] as ModelJobSpec).name))}`);
    if (a.regexes.length > 0) lines.push(`    job_name_regexes: ${list(a.regexes)}`);
  }
  return `${lines.join('\n')}\n`;
}
