import { ACTION_TYPES, TRIGGER_TYPES } from '@sluice/core/spec';
import { describe, expect, it } from 'vitest';
import { expectRefusal, load } from './spec-test-helpers.js';

/** Jobs train_1..train_3 and report on lines 3-11, a scheduler "gpu", then the actions given. */
const withActions = (actions: string) => `name: w
jobs:
  - name: train_{i}
    command: x
    parameters: {i: "1:3"}
  - name: train_10
    command: x
  - name: report
    command: x
slurm_schedulers:
  - name: gpu
actions:
${actions}`;

const RUN = '    action_type: run_commands\n    commands: ["echo hi"]\n';
const SCHEDULE =
  '    action_type: schedule_nodes\n    scheduler: gpu\n    scheduler_type: slurm\n    num_allocations: 2\n';

describe('actions from the seed document', () => {
  it('loads the examples of the seed document', () => {
    const workflow = load(`name: seed
jobs:
  - name: train_model_{n:03d}
    command: train {n}
    parameters: {n: "1:3"}
  - name: preprocess_{n}
    command: prep {n}
    parameters: {n: "1:3"}
  - name: eval_all
    command: eval
slurm_schedulers:
  - name: gpu_cluster
    account: ml
actions:
  - trigger_type: "on_workflow_start"
    action_type: "run_commands"
    commands:
      - "mkdir -p output logs"
      - "echo 'Workflow started' > logs/status.txt"
  - trigger_type: "on_workflow_complete"
    action_type: "run_commands"
    commands:
      - "tar -czf results.tar.gz output/"
  - trigger_type: "on_jobs_ready"
    action_type: "schedule_nodes"
    jobs: ["train_model_001", "train_model_002", "train_model_003"]
    scheduler: "gpu_cluster"
    scheduler_type: "slurm"
    num_allocations: 2
  - trigger_type: "on_jobs_complete"
    action_type: "run_commands"
    jobs: ["preprocess_1", "preprocess_2", "preprocess_3"]
    commands:
      - "rm -rf raw_data/"
  - trigger_type: "on_worker_start"
    action_type: "run_commands"
    persistent: true
    commands:
      - "mkdir -p worker_temp"
  - trigger_type: "on_worker_complete"
    action_type: "run_commands"
    commands:
      - "rm -rf worker_temp"
  - trigger_type: "on_jobs_ready"
    action_type: "schedule_nodes"
    job_name_regexes: ["train_model_[0-9]+", "eval_.*"]
    scheduler: "gpu_cluster"
    scheduler_type: "slurm"
    num_allocations: 2
    start_one_worker_per_node: true
    max_parallel_jobs: 8
`);
    expect(workflow.actions.map((a) => [a.triggerType, a.actionType, a.persistent, a.jobs])).toEqual([
      ['on_workflow_start', 'run_commands', false, []],
      ['on_workflow_complete', 'run_commands', false, []],
      ['on_jobs_ready', 'schedule_nodes', false, [0, 1, 2]],
      ['on_jobs_complete', 'run_commands', false, [3, 4, 5]],
      ['on_worker_start', 'run_commands', true, []],
      ['on_worker_complete', 'run_commands', true, []],
      ['on_jobs_ready', 'schedule_nodes', false, [0, 1, 2, 6]],
    ]);
    expect(workflow.actions[0]?.commands).toEqual([
      'mkdir -p output logs',
      "echo 'Workflow started' > logs/status.txt",
    ]);
    expect(workflow.actions[6]).toMatchObject({
      scheduler: 'gpu_cluster',
      schedulerType: 'slurm',
      numAllocations: 2,
      startOneWorkerPerNode: true,
      maxParallelJobs: 8,
      commands: null,
    });
    expect(workflow.actions[2]).toMatchObject({ startOneWorkerPerNode: false, maxParallelJobs: null });
  });

  it('accepts every trigger with both action types', () => {
    for (const trigger of TRIGGER_TYPES) {
      const selection = trigger === 'on_jobs_ready' || trigger === 'on_jobs_complete' ? '    jobs: [report]\n' : '';
      for (const type of ACTION_TYPES) {
        const body = type === 'run_commands' ? RUN : SCHEDULE;
        const workflow = load(withActions(`  - trigger_type: ${trigger}\n${selection}${body}`));
        expect(workflow.actions[0]).toMatchObject({ triggerType: trigger, actionType: type });
      }
    }
  });

  it('makes worker actions persistent by default and the others not, unless told', () => {
    const workflow = load(
      withActions(
        `  - trigger_type: on_worker_start\n${RUN}  - trigger_type: on_worker_complete\n    persistent: false\n${RUN}  - trigger_type: on_workflow_start\n    persistent: true\n${RUN}  - trigger_type: on_jobs_complete\n    jobs: [report]\n${RUN}`,
      ),
    );
    expect(workflow.actions.map((a) => a.persistent)).toEqual([true, false, true, false]);
  });

  it('selects the deduplicated union of names and anchored regexes, sorted', () => {
    const workflow = load(
      withActions(`  - trigger_type: on_jobs_complete
    jobs: [report, train_2]
    job_name_regexes: ["train_[0-9]", "train_2"]
${RUN}`),
    );
    expect(workflow.actions[0]?.jobs).toEqual([0, 1, 2, 4]);
  });

  it('takes job names literally: actions have no parameters', () => {
    expectRefusal(
      withActions(`  - trigger_type: on_jobs_ready\n    jobs: ["train_{i}"]\n${RUN}`),
      'SPEC_UNKNOWN_REFERENCE',
      'spec.yaml:14: actions[0].jobs[0]: unknown job "train_{i}" (actions take no parameters: name each job, or select them with job_name_regexes)',
    );
  });
});

describe('action validation names the action, the key and the value', () => {
  it('names the valid trigger and action types', () => {
    expectRefusal(
      withActions(`  - trigger_type: on_start\n${RUN}`),
      'SPEC_INVALID',
      'spec.yaml:13: actions[0].trigger_type: expected one of "on_workflow_start", "on_workflow_complete", "on_jobs_ready", "on_jobs_complete", "on_worker_start", "on_worker_complete", got "on_start"',
    );
    expectRefusal(
      withActions('  - trigger_type: on_workflow_start\n    action_type: run_command\n    commands: [x]\n'),
      'SPEC_INVALID',
      'spec.yaml:14: actions[0].action_type: expected one of "run_commands", "schedule_nodes", got "run_command"',
    );
    expectRefusal(
      withActions('  - action_type: run_commands\n    commands: [x]\n'),
      'SPEC_INVALID',
      'spec.yaml:13: actions[0]: missing required key "trigger_type"',
    );
  });

  it('requires run_commands to have commands', () => {
    expectRefusal(
      withActions('  - trigger_type: on_workflow_start\n    action_type: run_commands\n'),
      'SPEC_INVALID',
      'spec.yaml:13: actions[0]: run_commands needs "commands", a non-empty list of command strings',
    );
    expectRefusal(
      withActions('  - trigger_type: on_workflow_start\n    action_type: run_commands\n    commands: []\n'),
      'SPEC_INVALID',
      'spec.yaml:15: actions[0].commands: run_commands needs "commands", a non-empty list of command strings',
    );
    expectRefusal(
      withActions('  - trigger_type: on_workflow_start\n    action_type: run_commands\n    commands: [echo, 3]\n'),
      'SPEC_INVALID',
      'spec.yaml:15: actions[0].commands[1]: expected a string, got 3',
    );
  });

  it('refuses schedule_nodes keys in run_commands actions', () => {
    const cases: [string, string][] = [
      ['scheduler: gpu', 'scheduler (got "gpu")'],
      ['scheduler_type: slurm', 'scheduler_type (got "slurm")'],
      ['num_allocations: 2', 'num_allocations (got 2)'],
      ['start_one_worker_per_node: true', 'start_one_worker_per_node (got true)'],
      ['max_parallel_jobs: 4', 'max_parallel_jobs (got 4)'],
    ];
    for (const [line, named] of cases) {
      const key = line.split(':')[0];
      expectRefusal(
        withActions(`  - trigger_type: on_workflow_start\n${RUN}    ${line}\n`),
        'SPEC_INVALID',
        `spec.yaml:16: actions[0].${key}: run_commands actions take no ${named}; it is a schedule_nodes setting`,
      );
    }
  });

  it('requires a known slurm scheduler, scheduler_type slurm and num_allocations for schedule_nodes', () => {
    const start = '  - trigger_type: on_workflow_start\n    action_type: schedule_nodes\n';
    expectRefusal(
      withActions(`${start}    scheduler_type: slurm\n    num_allocations: 1\n`),
      'SPEC_INVALID',
      'spec.yaml:13: actions[0]: schedule_nodes needs "scheduler", the name of an entry in slurm_schedulers',
    );
    expectRefusal(
      withActions(`${start}    scheduler: cpu\n    scheduler_type: slurm\n    num_allocations: 1\n`),
      'SPEC_UNKNOWN_REFERENCE',
      'spec.yaml:15: actions[0].scheduler: unknown slurm scheduler "cpu" (slurm_schedulers defines "gpu")',
    );
    expectRefusal(
      withActions(`${start}    scheduler: gpu\n    num_allocations: 1\n`),
      'SPEC_INVALID',
      'spec.yaml:13: actions[0]: schedule_nodes needs scheduler_type: "slurm"',
    );
    expectRefusal(
      withActions(`${start}    scheduler: gpu\n    scheduler_type: local\n    num_allocations: 1\n`),
      'SPEC_INVALID',
      'spec.yaml:16: actions[0].scheduler_type: expected "slurm", got "local": Slurm is the only scheduler sluice supports',
    );
    expectRefusal(
      withActions(`${start}    scheduler: gpu\n    scheduler_type: slurm\n`),
      'SPEC_INVALID',
      'spec.yaml:13: actions[0]: schedule_nodes needs "num_allocations" (required; Sluice does not default it to 1 as torc\'s code does)',
    );
    expectRefusal(
      withActions(`${start}    scheduler: gpu\n    scheduler_type: slurm\n    num_allocations: 0\n`),
      'SPEC_INVALID',
      'spec.yaml:17: actions[0].num_allocations: expected a number >= 1, got 0',
    );
    expectRefusal(
      withActions(`${start}    scheduler: gpu\n    scheduler_type: slurm\n    num_allocations: 1.5\n`),
      'SPEC_INVALID',
      'spec.yaml:17: actions[0].num_allocations: expected an integer, got 1.5',
    );
    expectRefusal(
      withActions(
        `${start}    scheduler: gpu\n    scheduler_type: slurm\n    num_allocations: 1\n    max_parallel_jobs: 0\n`,
      ),
      'SPEC_INVALID',
      'spec.yaml:18: actions[0].max_parallel_jobs: expected a number >= 1, got 0',
    );
    expectRefusal(
      withActions(
        `${start}    scheduler: gpu\n    scheduler_type: slurm\n    num_allocations: 1\n    start_one_worker_per_node: 1\n`,
      ),
      'SPEC_INVALID',
      'spec.yaml:18: actions[0].start_one_worker_per_node: expected true or false, got 1',
    );
  });

  it('refuses commands in schedule_nodes actions', () => {
    expectRefusal(
      withActions(`  - trigger_type: on_workflow_start\n${SCHEDULE}    commands: [x]\n`),
      'SPEC_INVALID',
      'spec.yaml:18: actions[0].commands: schedule_nodes actions take no commands (got a list); commands belong to run_commands actions',
    );
  });

  it('requires job triggers to select jobs, and lets every other trigger name the jobs it serves', () => {
    expectRefusal(
      withActions(`  - trigger_type: on_jobs_ready\n${RUN}`),
      'SPEC_INVALID',
      'spec.yaml:13: actions[0]: on_jobs_ready needs "jobs" and/or "job_name_regexes" to select the jobs it waits for',
    );
    expectRefusal(
      withActions(`  - trigger_type: on_jobs_complete\n    jobs: []\n${RUN}`),
      'SPEC_INVALID',
      'spec.yaml:13: actions[0]: on_jobs_complete needs "jobs" and/or "job_name_regexes" to select the jobs it waits for',
    );
    for (const trigger of ['on_workflow_start', 'on_workflow_complete', 'on_worker_start', 'on_worker_complete']) {
      const named = load(withActions(`  - trigger_type: ${trigger}\n    jobs: [report]\n${RUN}`));
      expect(named.actions[0]?.jobs).toEqual([4]);
      const matched = load(withActions(`  - trigger_type: ${trigger}\n    job_name_regexes: ["train_.*"]\n${RUN}`));
      expect(matched.actions[0]?.jobs).toEqual([0, 1, 2, 3]);
      expect(load(withActions(`  - trigger_type: ${trigger}\n${RUN}`)).actions[0]?.jobs).toEqual([]);
      expectRefusal(
        withActions(`  - trigger_type: ${trigger}\n    jobs: [nope]\n${RUN}`),
        'SPEC_UNKNOWN_REFERENCE',
        'spec.yaml:14: actions[0].jobs[0]: unknown job "nope"',
      );
    }
  });

  it('refuses unknown job names and regexes that are invalid or match nothing', () => {
    expectRefusal(
      withActions(`  - trigger_type: on_jobs_ready\n    jobs: [report, reprot]\n${RUN}`),
      'SPEC_UNKNOWN_REFERENCE',
      'spec.yaml:14: actions[0].jobs[1]: unknown job "reprot"',
    );
    expectRefusal(
      withActions(`  - trigger_type: on_jobs_ready\n    job_name_regexes: ["train_[0-9"]\n${RUN}`),
      'SPEC_BAD_REGEX',
      'spec.yaml:14: actions[0].job_name_regexes[0]: invalid regex "train_[0-9": missing closing ]',
    );
    expectRefusal(
      withActions(`  - trigger_type: on_jobs_ready\n    job_name_regexes: ["train"]\n${RUN}`),
      'SPEC_REGEX_NO_MATCH',
      'spec.yaml:14: actions[0].job_name_regexes[0]: regex "train" matches no job name (it must match a whole name)',
    );
  });

  it('names the offending action among several', () => {
    expectRefusal(
      withActions(
        `  - trigger_type: on_workflow_start\n${RUN}  - trigger_type: on_workflow_complete\n${RUN}  - trigger_type: on_workflow_complete\n${RUN}    num_allocations: 3\n`,
      ),
      'SPEC_INVALID',
      'spec.yaml:22: actions[2].num_allocations: run_commands actions take no num_allocations (got 3); it is a schedule_nodes setting',
    );
  });
});
