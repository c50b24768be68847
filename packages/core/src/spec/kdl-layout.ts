/**
 * How torc lays a workflow out in KDL, as tables: for each node name, the spec key it fills and
 * how. The converter turns a KDL document into the same plain data a YAML spec gives, so that
 * one schema and one resolver serve every format. Names torc's KDL parser accepts today are
 * here, and so are the older ones its examples still use (depends_on_job, blocked_by_job,
 * input_files, resource_requirements_name, scheduler_name, job_name_regex); Sluice takes every
 * argument of a multi-valued node, where torc keeps only the first.
 */

/**
 * - scalar: the node's one argument is the value (`command "echo"`).
 * - list: every argument is appended to a list; the node may repeat (`depends_on "a" "b"`).
 * - map: each child is a key and its argument the value; several arguments make a list.
 * - value: a scalar, or a map when the node has children (`metadata`).
 * - json: like value, but a string argument is JSON text (torc's `user_data { data "{...}" }`).
 * - block: the children form an object laid out by `layout` (null: every child generic).
 * - entry: each node is one element of a list; its first argument is the element's name, its
 *   properties and children its keys (`job "a" { ... }`, `file "f" path="p"`).
 */
export type Shape =
  | { kind: 'scalar' | 'list' | 'map' | 'value' | 'json'; key: string }
  | { kind: 'block'; key: string; layout: Layout | null }
  | { kind: 'entry'; key: string; layout: Layout; named: 'required' | 'optional' | 'none' };

export type Layout = Readonly<Record<string, Shape>>;

const scalar = (key: string): Shape => ({ kind: 'scalar', key });
const list = (key: string): Shape => ({ kind: 'list', key });
const map = (key: string): Shape => ({ kind: 'map', key });

/** Each name as a scalar of the same key. */
function scalars(...keys: string[]): Record<string, Shape> {
  return Object.fromEntries(keys.map((key) => [key, scalar(key)]));
}
function lists(...keys: string[]): Record<string, Shape> {
  return Object.fromEntries(keys.map((key) => [key, list(key)]));
}

const PARAMETERIZED: Layout = {
  parameters: map('parameters'),
  use_parameters: list('use_parameters'),
  ...scalars('parameter_mode', 'parameters_file', 'use_parameters_file'),
};

const JOB: Layout = {
  ...PARAMETERIZED,
  ...scalars(
    'command',
    'invocation_script',
    'resource_requirements',
    'failure_handler',
    'scheduler',
    'priority',
    'cancel_on_blocking_job_failure',
    'supports_termination',
    'label',
  ),
  resource_requirements_name: scalar('resource_requirements'),
  scheduler_name: scalar('scheduler'),
  depends_on: list('depends_on'),
  depends_on_job: list('depends_on'),
  blocked_by_job: list('depends_on'),
  input_file: list('input_files'),
  input_files: list('input_files'),
  output_file: list('output_files'),
  output_files: list('output_files'),
  ...lists(
    'depends_on_regexes',
    'input_user_data',
    'output_user_data',
    'input_file_regexes',
    'output_file_regexes',
    'input_user_data_regexes',
    'output_user_data_regexes',
    'input_datasets',
    'output_datasets',
  ),
  env: map('env'),
  stdio: { kind: 'block', key: 'stdio', layout: null },
};

const FILE: Layout = { ...PARAMETERIZED, ...scalars('path', 'identifier', 'st_mtime') };

const USER_DATA: Layout = {
  ...PARAMETERIZED,
  is_ephemeral: scalar('is_ephemeral'),
  data: { kind: 'json', key: 'data' },
};

const RESOURCE_REQUIREMENTS: Layout = scalars('num_cpus', 'num_gpus', 'num_nodes', 'memory', 'runtime');

const FAILURE_RULE: Layout = {
  exit_codes: list('exit_codes'),
  ...scalars('match_all_exit_codes', 'recovery_script', 'max_retries'),
};

const FAILURE_HANDLER: Layout = {
  rule: { kind: 'entry', key: 'rules', layout: FAILURE_RULE, named: 'none' },
};

const SLURM_SCHEDULER: Layout = scalars(
  'account',
  'gres',
  'mem',
  'partition',
  'qos',
  'tmp',
  'walltime',
  'extra',
  'nodes',
  'ntasks_per_node',
  'serialize_allocations',
);

const ACTION: Layout = {
  ...scalars(
    'trigger_type',
    'action_type',
    'scheduler',
    'scheduler_type',
    'num_allocations',
    'max_parallel_jobs',
    'start_one_worker_per_node',
    'persistent',
  ),
  scheduler_name: scalar('scheduler'),
  job: list('jobs'),
  jobs: list('jobs'),
  job_name_regexes: list('job_name_regexes'),
  job_name_regex: list('job_name_regexes'),
  command: list('commands'),
  commands: list('commands'),
};

const RESOURCE_MONITOR: Layout = {
  ...scalars('enabled', 'granularity', 'sample_interval_seconds', 'flush_interval_seconds', 'generate_plots'),
  metrics: list('metrics'),
  jobs: { kind: 'block', key: 'jobs', layout: scalars('enabled', 'granularity') },
  compute_node: { kind: 'block', key: 'compute_node', layout: scalars('enabled', 'granularity', 'cpu', 'memory') },
};

export const WORKFLOW_LAYOUT: Layout = {
  ...scalars('name', 'user', 'description', 'project'),
  metadata: { kind: 'value', key: 'metadata' },
  parameters: map('parameters'),
  variables: map('variables'),
  env: map('env'),
  slurm_defaults: map('slurm_defaults'),
  job: { kind: 'entry', key: 'jobs', layout: JOB, named: 'required' },
  file: { kind: 'entry', key: 'files', layout: FILE, named: 'required' },
  user_data: { kind: 'entry', key: 'user_data', layout: USER_DATA, named: 'optional' },
  resource_requirements: {
    kind: 'entry',
    key: 'resource_requirements',
    layout: RESOURCE_REQUIREMENTS,
    named: 'required',
  },
  failure_handler: { kind: 'entry', key: 'failure_handlers', layout: FAILURE_HANDLER, named: 'required' },
  slurm_scheduler: { kind: 'entry', key: 'slurm_schedulers', layout: SLURM_SCHEDULER, named: 'optional' },
  action: { kind: 'entry', key: 'actions', layout: ACTION, named: 'none' },
  dataset: { kind: 'entry', key: 'datasets', layout: {}, named: 'optional' },
  resource_monitor: { kind: 'block', key: 'resource_monitor', layout: RESOURCE_MONITOR },
  execution_config: { kind: 'block', key: 'execution_config', layout: null },
  dynamic_jobs: { kind: 'block', key: 'dynamic_jobs', layout: null },
};
