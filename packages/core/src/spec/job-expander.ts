import {
  forEachCombination,
  type ParameterSet,
  parameterSetOf,
  refuseTooManyInstances,
} from './parameter-combinations.js';
import type { ParameterValue } from './parameter-value-parser.js';
import { quoteRegex } from './regex-matcher.js';
import type { SpecPath, SpecReporter } from './spec-error.js';
import type { JobSpec } from './spec-schema.js';
import { CompiledTemplate, compileTemplate } from './template-compiler.js';

export const JOB_LIST_KEYS = [
  'depends_on',
  'depends_on_regexes',
  'input_files',
  'output_files',
  'input_user_data',
  'output_user_data',
  'input_file_regexes',
  'output_file_regexes',
  'input_user_data_regexes',
  'output_user_data_regexes',
] as const;
export type JobListKey = (typeof JOB_LIST_KEYS)[number];
const REGEX_LIST_KEYS: ReadonlySet<JobListKey> = new Set(JOB_LIST_KEYS.filter((key) => key.endsWith('_regexes')));

type JobLists = Partial<Record<JobListKey, readonly string[] | null>>;

/** One job after parameter expansion; the names in it are not resolved yet. */
export interface JobInstance {
  specIndex: number;
  name: string;
  command: string;
  invocationScript: string | null;
  resourceRequirements: string | null;
  scheduler: string | null;
  /** each name or regex list, rendered */
  lists: Readonly<JobLists>;
  /**
   * For a fanned-in job, the index of the spec entry each list entry was rendered from; for
   * every other job entry i comes from spec entry i, and this is absent.
   */
  origins?: Partial<Record<JobListKey, number[]>>;
}

/** The index of the spec entry a job's list entry came from, for error messages. */
export function originOf(job: JobInstance, key: JobListKey, index: number): number {
  return job.origins?.[key]?.[index] ?? index;
}

/** A job spec with every string compiled against its parameters, ready to render instances. */
interface JobTemplate {
  specIndex: number;
  name: CompiledTemplate;
  singles: Record<'command' | 'invocation_script' | 'resource_requirements' | 'scheduler', CompiledTemplate | null>;
  /** the entries of each list the spec gives, in spec order */
  lists: { key: JobListKey; templates: CompiledTemplate[] }[];
}

/**
 * Expands every job spec over its parameters. A parameter that the job's name does not use fans
 * in: the combinations that differ only in it are one job, whose lists are the union of theirs.
 * So `aggregate` with parameter i and `depends_on: [train_{i}]` depends on every train_{i}, and
 * `report_{d}` with parameters d and t depends on each `analyze_{d}_{t}` of its d.
 */
export function expandJobs(
  specs: readonly JobSpec[],
  workflowParameters: Readonly<Record<string, ParameterValue[]>>,
  reporter: SpecReporter,
): JobInstance[] {
  const instances: JobInstance[] = [];
  for (let specIndex = 0; specIndex < specs.length; specIndex++) {
    const job = specs[specIndex] as JobSpec;
    const set = parameterSetOf(job, workflowParameters, ['jobs', specIndex], reporter);
    refuseTooManyInstances(instances.length, set, ['jobs', specIndex], 'jobs', reporter);
    if (!set && isPlain(job)) {
      instances.push(plainInstance(job, specIndex));
      continue;
    }
    const template = compileJob(job, specIndex, set, reporter);
    const fanIn = set ? set.names.map((_, position) => position).filter((p) => !template.name.uses.includes(p)) : [];
    if (!set || fanIn.length === 0) {
      forEachCombination(set, (combo) => instances.push(instantiate(template, combo)));
      continue;
    }
    refuseFannedInSingles(template, set, fanIn, job.name, reporter);
    const groups = new Map<string, (readonly number[])[]>();
    forEachCombination(set, (combo) => {
      const groupKey = template.name.uses.map((position) => combo[position]).join(',');
      const group = groups.get(groupKey);
      if (group) group.push([...combo]);
      else groups.set(groupKey, [[...combo]]);
    });
    for (const combos of groups.values()) instances.push(fannedIn(template, combos));
  }
  return instances;
}

/**
 * Whether a job without parameters has no placeholders at all, so that it is used as written.
 * Big generated specs are mostly such jobs, and skipping the templates spares them most of the
 * loader's allocations. A brace anywhere sends the job through the templates, which refuse it.
 */
function isPlain(job: JobSpec): boolean {
  if (job.name.includes('{') || job.resource_requirements?.includes('{') || job.scheduler?.includes('{')) return false;
  for (const key of JOB_LIST_KEYS) {
    const items = job[key];
    if (items) for (const item of items) if (item.includes('{')) return false;
  }
  return true;
}

function plainInstance(job: JobSpec, specIndex: number): JobInstance {
  return {
    specIndex,
    name: job.name,
    command: job.command,
    invocationScript: job.invocation_script ?? null,
    resourceRequirements: job.resource_requirements ?? null,
    scheduler: job.scheduler ?? null,
    // The spec's own lists, as written: the job spec has them under the same keys.
    lists: job,
  };
}

function compileJob(job: JobSpec, specIndex: number, set: ParameterSet | null, reporter: SpecReporter): JobTemplate {
  const compile = (text: string, path: SpecPath, quote?: (value: string) => string) =>
    compileTemplate(text, set, reporter.failAt(['jobs', specIndex, ...path]), quote);
  // A job without parameters runs its command as written: braces in shell code (awk '{print}',
  // Python f-strings) are not placeholders unless the job opted into parameters.
  const script = (text: string | null | undefined, key: string) =>
    text == null ? null : set ? compile(text, [key]) : new CompiledTemplate(text);
  const name = (text: string | null | undefined, key: string) => (text == null ? null : compile(text, [key]));
  const lists: JobTemplate['lists'] = [];
  for (const key of JOB_LIST_KEYS) {
    const items = job[key];
    const quote = REGEX_LIST_KEYS.has(key) ? quoteRegex : undefined;
    if (items) lists.push({ key, templates: items.map((item, at) => compile(item, [key, at], quote)) });
  }
  return {
    specIndex,
    name: compile(job.name, ['name']),
    singles: {
      command: script(job.command, 'command'),
      invocation_script: script(job.invocation_script, 'invocation_script'),
      resource_requirements: name(job.resource_requirements, 'resource_requirements'),
      scheduler: name(job.scheduler, 'scheduler'),
    },
    lists,
  };
}

/** A fanned-in job is one job for many combinations, so its single values must not vary among them. */
function refuseFannedInSingles(
  template: JobTemplate,
  set: ParameterSet,
  fanIn: readonly number[],
  jobName: string,
  reporter: SpecReporter,
): void {
  for (const [key, single] of Object.entries(template.singles)) {
    const used = single?.uses.find((position) => fanIn.includes(position));
    if (used === undefined) continue;
    const parameter = set.names[used];
    throw reporter.error(
      'SPEC_BAD_PARAMETER',
      ['jobs', template.specIndex, key],
      `uses parameter "${parameter}", which the job name ${JSON.stringify(jobName)} does not; each job needs its own name, so put {${parameter}} in the name`,
    );
  }
}

function instantiate(template: JobTemplate, combo: readonly number[]): JobInstance {
  const lists: JobLists = {};
  for (const { key, templates } of template.lists) lists[key] = templates.map((entry) => entry.render(combo));
  return render(template, combo, lists);
}

/** One job for all the combinations of a group: its lists are the union of theirs, in order. */
function fannedIn(template: JobTemplate, combos: readonly (readonly number[])[]): JobInstance {
  const lists: JobLists = {};
  const origins: Partial<Record<JobListKey, number[]>> = {};
  for (const { key, templates } of template.lists) {
    const values: string[] = [];
    const from: number[] = [];
    const seen = new Set<string>();
    for (const combo of combos) {
      for (const [at, entry] of templates.entries()) {
        const value = entry.render(combo);
        if (seen.has(value)) continue;
        seen.add(value);
        values.push(value);
        from.push(at);
      }
    }
    lists[key] = values;
    origins[key] = from;
  }
  return { ...render(template, combos[0] as readonly number[], lists), origins };
}

function render(template: JobTemplate, combo: readonly number[], lists: JobLists): JobInstance {
  const { singles } = template;
  return {
    specIndex: template.specIndex,
    name: template.name.render(combo),
    command: (singles.command as CompiledTemplate).render(combo),
    invocationScript: singles.invocation_script?.render(combo) ?? null,
    resourceRequirements: singles.resource_requirements?.render(combo) ?? null,
    scheduler: singles.scheduler?.render(combo) ?? null,
    lists,
  };
}
