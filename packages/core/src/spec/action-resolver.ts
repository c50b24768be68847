import type { ErrorCode, SluiceError } from '../errors.js';
import { JOB_TRIGGER_TYPES, type TriggerType } from '../model.js';
import type { ActionSpec } from './action-schema.js';
import { sortedUnique } from './dependency-graph.js';
import type { NameMatcher } from './regex-matcher.js';
import type { ResolvedAction } from './resolved-workflow.js';
import { describeValue, quoteList, type SpecPath, type SpecReporter } from './spec-error.js';

export interface ActionContext {
  jobIndexByName: ReadonlyMap<string, number>;
  jobMatcher: NameMatcher;
  schedulerNames: readonly string[];
}

const JOB_TRIGGERS: readonly TriggerType[] = JOB_TRIGGER_TYPES;
// The seed document makes worker actions run once per worker unless told otherwise.
const PERSISTENT_BY_DEFAULT: readonly TriggerType[] = ['on_worker_start', 'on_worker_complete'];
const SCHEDULE_NODES_KEYS = [
  'scheduler',
  'scheduler_type',
  'num_allocations',
  'start_one_worker_per_node',
  'max_parallel_jobs',
] as const;

/** An error about one action, or about a place inside it. */
type ActionError = (code: ErrorCode, problem: string, ...at: (string | number)[]) => SluiceError;

export function resolveActions(
  actions: readonly ActionSpec[],
  context: ActionContext,
  reporter: SpecReporter,
): ResolvedAction[] {
  return actions.map((action, index) => {
    const path: SpecPath = ['actions', index];
    const error: ActionError = (code, problem, ...at) => reporter.error(code, [...path, ...at], problem);
    const settings = checkActionType(action, context, error);
    return {
      triggerType: action.trigger_type,
      actionType: action.action_type,
      persistent: action.persistent ?? PERSISTENT_BY_DEFAULT.includes(action.trigger_type),
      jobs: selectJobs(action, context, error),
      ...settings,
    };
  });
}

type ActionSettings = Pick<
  ResolvedAction,
  'commands' | 'scheduler' | 'schedulerType' | 'numAllocations' | 'startOneWorkerPerNode' | 'maxParallelJobs'
>;

function checkActionType(action: ActionSpec, context: ActionContext, error: ActionError): ActionSettings {
  if (action.action_type === 'run_commands') {
    for (const key of SCHEDULE_NODES_KEYS) {
      if (action[key] != null) {
        throw error(
          'SPEC_INVALID',
          `run_commands actions take no ${key} (got ${describeValue(action[key])}); it is a schedule_nodes setting`,
          key,
        );
      }
    }
    if (!action.commands?.length) {
      throw error(
        'SPEC_INVALID',
        'run_commands needs "commands", a non-empty list of command strings',
        ...(action.commands ? ['commands'] : []),
      );
    }
    return {
      commands: action.commands,
      scheduler: null,
      schedulerType: null,
      numAllocations: null,
      startOneWorkerPerNode: false,
      maxParallelJobs: null,
    };
  }
  if (action.commands != null) {
    throw error(
      'SPEC_INVALID',
      `schedule_nodes actions take no commands (got ${describeValue(action.commands)}); commands belong to run_commands actions`,
      'commands',
    );
  }
  if (action.scheduler == null)
    throw error('SPEC_INVALID', 'schedule_nodes needs "scheduler", the name of an entry in slurm_schedulers');
  if (!context.schedulerNames.includes(action.scheduler)) {
    const defined = context.schedulerNames.length
      ? `slurm_schedulers defines ${quoteList(context.schedulerNames)}`
      : 'the spec defines no slurm_schedulers';
    throw error('SPEC_UNKNOWN_REFERENCE', `unknown slurm scheduler "${action.scheduler}" (${defined})`, 'scheduler');
  }
  if (action.scheduler_type == null) throw error('SPEC_INVALID', 'schedule_nodes needs scheduler_type: "slurm"');
  if (action.scheduler_type !== 'slurm') {
    throw error(
      'SPEC_INVALID',
      `expected "slurm", got ${describeValue(action.scheduler_type)}: Slurm is the only scheduler sluice supports`,
      'scheduler_type',
    );
  }
  // The user's workflow-actions document makes it required; torc's code would default it to 1.
  if (action.num_allocations == null) {
    throw error(
      'SPEC_INVALID',
      'schedule_nodes needs "num_allocations" (required; Sluice does not default it to 1 as torc\'s code does)',
    );
  }
  return {
    commands: null,
    scheduler: action.scheduler,
    schedulerType: 'slurm',
    numAllocations: action.num_allocations,
    startOneWorkerPerNode: action.start_one_worker_per_node ?? false,
    maxParallelJobs: action.max_parallel_jobs ?? null,
  };
}

/**
 * The jobs an action names. Every trigger may name jobs (torc accepts them on all); only
 * on_jobs_ready and on_jobs_complete count them, and those must name at least one.
 */
function selectJobs(action: ActionSpec, context: ActionContext, error: ActionError): number[] {
  if (JOB_TRIGGERS.includes(action.trigger_type) && !action.jobs?.length && !action.job_name_regexes?.length) {
    throw error(
      'SPEC_INVALID',
      `${action.trigger_type} needs "jobs" and/or "job_name_regexes" to select the jobs it waits for`,
    );
  }
  const selected: number[] = [];
  for (const [k, name] of (action.jobs ?? []).entries()) {
    const index = context.jobIndexByName.get(name);
    if (index === undefined) {
      const hint = name.includes('{')
        ? ' (actions take no parameters: name each job, or select them with job_name_regexes)'
        : '';
      throw error('SPEC_UNKNOWN_REFERENCE', `unknown job "${name}"${hint}`, 'jobs', k);
    }
    selected.push(index);
  }
  for (const [k, pattern] of (action.job_name_regexes ?? []).entries()) {
    const fail = (code: ErrorCode, problem: string): never => {
      throw error(code, problem, 'job_name_regexes', k);
    };
    for (const index of context.jobMatcher.match(pattern, fail)) selected.push(index);
  }
  return sortedUnique(selected);
}
