import { describe, expect, it } from 'vitest';
import { expectRefusal, load, refusal } from './spec-test-helpers.js';

/**
 * One scheduler "s" (its keys given) and one job "j" that names it, needing what `needs` says
 * (resource_requirements "r"). The job is on line 3.
 */
function spec(scheduler: string, needs: string, extra = ''): string {
  return `name: fit
jobs:
  - name: j
    command: x
    scheduler: s
    resource_requirements: r
resource_requirements:
  - name: r
${indent(needs)}
slurm_schedulers:
  - name: s
${indent(scheduler)}
${extra}`;
}

const indent = (keys: string) =>
  keys
    .split('\n')
    .filter(Boolean)
    .map((k) => `    ${k}`)
    .join('\n');

const fits = (scheduler: string, needs: string, extra = '') => {
  expect(() => load(spec(scheduler, needs, extra))).not.toThrow();
};
const problem = (scheduler: string, needs: string, extra = '') => {
  const e = refusal(spec(scheduler, needs, extra));
  expect(e.code).toBe('SPEC_INVALID');
  expect(e.message).not.toContain('\n');
  return e.message;
};

describe('a job that never fits its Slurm scheduler is refused when the workflow is created', () => {
  it('names the job, its requirement and the scheduler, at the job', () => {
    expectRefusal(
      `name: phases
resource_requirements:
  - name: big
    runtime: PT2H
slurm_schedulers:
  - name: short
    walltime: "00:30:00"
jobs:
  - name: prep
    command: x
  - name: train_{i}
    command: x
    parameters: {i: "1:8"}
    resource_requirements: big
    scheduler: short
`,
      'SPEC_INVALID',
      'spec.yaml:11: jobs[1]: job "train_1" needs runtime PT2H (resource_requirements "big") but scheduler "short" allows walltime 00:30:00',
    );
  });

  it('reads every Slurm walltime format; UNLIMITED, 0 and none are no limit', () => {
    const formats: [string, number][] = [
      ['30', 1800],
      ['30:15', 1815],
      ['01:30:00', 5400],
      ['1-2', 93_600],
      ['1-02:30', 95_400],
      ['1-02:30:15', 95_415],
      ['2-00:00:00', 172_800],
    ];
    for (const [walltime, seconds] of formats) {
      fits(`walltime: "${walltime}"`, `runtime: PT${seconds}S`);
      expect(problem(`walltime: "${walltime}"`, `runtime: PT${seconds + 1}S`)).toBe(
        `spec.yaml:3: jobs[0]: job "j" needs runtime PT${seconds + 1}S (resource_requirements "r") but scheduler "s" allows walltime ${walltime}`,
      );
    }
    for (const unlimited of ['walltime: UNLIMITED', 'walltime: INFINITE', 'walltime: "0"', 'partition: debug']) {
      fits(unlimited, 'runtime: P300D');
    }
    // Text Slurm would not take is not this check's to judge (sbatch says what is wrong with it).
    fits('walltime: "1h"', 'runtime: P300D');
  });

  it('a time given again in extra: the larger of the two is the limit', () => {
    fits('walltime: "00:30:00"\nextra: "--time=02:00:00"', 'runtime: PT2H');
    fits('walltime: "00:30:00"\nextra: "-t 120"', 'runtime: PT2H');
    expect(problem('walltime: "00:30:00"\nextra: "-t 60"', 'runtime: PT2H')).toMatch(
      /allows walltime 00:30:00, walltime 60$/,
    );
  });

  it("nodes: the scheduler's, or 1 when it gives none and nothing can spread the allocation", () => {
    expect(problem('nodes: 2', 'num_nodes: 3')).toBe(
      'spec.yaml:3: jobs[0]: job "j" needs 3 nodes (resource_requirements "r") but scheduler "s" allows nodes 2',
    );
    fits('nodes: 2', 'num_nodes: 2');
    expect(problem('partition: debug', 'num_nodes: 2')).toMatch(/needs 2 nodes .* allows nodes 1 \(the default\)$/);
    fits('extra: "--ntasks=64"', 'num_nodes: 2');
    fits('extra: "-N 1-4"', 'num_nodes: 4');
    expect(problem('extra: "-N 1-4"', 'num_nodes: 5')).toMatch(/allows nodes 1-4$/);
  });

  it('memory per node: megabytes by default, K/M/G/T suffixes; 0 (the whole node) is no limit', () => {
    expect(problem('mem: 8000', 'memory: 8g')).toBe(
      'spec.yaml:3: jobs[0]: job "j" needs memory 8g (resource_requirements "r") but scheduler "s" allows mem 8000 per node',
    );
    fits('mem: 8000', 'memory: 8000m');
    fits('mem: 8G', 'memory: 8g');
    expect(problem('mem: 8G', 'memory: 8193m')).toMatch(/needs memory 8193m .* allows mem 8G per node$/);
    fits('mem: 1T', 'memory: 1024g');
    fits('mem: "0"', 'memory: 4t');
    // Memory per CPU makes the node's share depend on the CPUs Slurm gives.
    fits('mem: 1G', 'memory: 4g', 'slurm_defaults:\n  mem_per_cpu: 1G\n');
  });

  it('gpus per node from gres (gpu, gpu:N, gpu:type:N, in a list) or --gpus-per-node', () => {
    expect(problem('gres: "gpu:4"', 'num_gpus: 5')).toBe(
      'spec.yaml:3: jobs[0]: job "j" needs 5 gpus (resource_requirements "r") but scheduler "s" gives 4 gpus per node (gres gpu:4)',
    );
    fits('gres: "gpu:4"', 'num_gpus: 4');
    fits('gres: "gpu:a100:2"', 'num_gpus: 2');
    expect(problem('gres: "gpu:a100:2"', 'num_gpus: 3')).toMatch(/gives 2 gpus per node \(gres gpu:a100:2\)$/);
    expect(problem('gres: gpu', 'num_gpus: 2')).toMatch(/gives 1 gpus per node/);
    expect(problem('gres: "nvme:1,gpu:v100:2"', 'num_gpus: 3')).toMatch(/gives 2 gpus per node/);
    expect(problem('extra: "--gpus-per-node=a100:2"', 'num_gpus: 3')).toMatch(/gives 2 gpus per node/);
    fits('gres: "gpu:1"\nextra: "--gres=gpu:2"', 'num_gpus: 2');
    // No GPU asked for, or GPUs per task or per job: how many a node gets is not settled here.
    fits('partition: gpu', 'num_gpus: 8');
    fits('gres: "nvme:1"', 'num_gpus: 8');
    fits('extra: "--gpus=8"', 'num_gpus: 8');
  });

  it('cpus only when the scheduler says how many each task gets: ntasks_per_node times --cpus-per-task', () => {
    expect(problem('ntasks_per_node: 4\nextra: "-c 2"', 'num_cpus: 9')).toBe(
      'spec.yaml:3: jobs[0]: job "j" needs 9 cpus (resource_requirements "r") but scheduler "s" gives 8 cpus per node (ntasks_per_node 4, cpus-per-task 2)',
    );
    fits('ntasks_per_node: 4\nextra: "-c 2"', 'num_cpus: 8');
    expect(problem('extra: "--cpus-per-task=2"', 'num_cpus: 3')).toMatch(/gives 2 cpus per node/);
    // ntasks_per_node alone is a task layout: a site that allocates whole nodes gives more.
    fits('ntasks_per_node: 1', 'num_cpus: 4');
    fits('ntasks_per_node: 4', 'num_cpus: 64');
    fits('partition: debug', 'num_cpus: 512');
    fits('ntasks_per_node: 4\nextra: "--exclusive"', 'num_cpus: 64');
  });

  it('the default requirements are checked too', () => {
    expectRefusal(
      'name: w\nslurm_schedulers:\n  - name: tiny\n    walltime: "0:30"\njobs:\n  - name: a\n    command: x\n    scheduler: tiny\n',
      'SPEC_INVALID',
      'spec.yaml:6: jobs[0]: job "a" needs runtime P0DT1M (the default resource requirements) but scheduler "tiny" allows walltime 0:30',
    );
  });
});

describe('the schedulers of the schedule_nodes actions that serve a job', () => {
  const withAction = (action: string, job = '') => `name: w
resource_requirements:
  - name: long
    runtime: PT3H
    num_nodes: 2
slurm_schedulers:
  - name: quick
    walltime: "01:00:00"
  - name: wide
    nodes: 2
jobs:
  - name: a
    command: x
    resource_requirements: long
${job}actions:
  - trigger_type: on_workflow_start
    action_type: run_commands
    commands: ["true"]
${action}`;

  it('an action that lists a job serves it, whatever its trigger', () => {
    for (const trigger of ['on_jobs_ready', 'on_workflow_start', 'on_worker_start']) {
      expectRefusal(
        withAction(
          `  - trigger_type: ${trigger}\n    action_type: schedule_nodes\n    jobs: [a]\n    scheduler: quick\n    scheduler_type: slurm\n    num_allocations: 1\n`,
          '    scheduler: wide\n',
        ),
        'SPEC_INVALID',
        'spec.yaml:12: jobs[0]: job "a" needs runtime PT3H (resource_requirements "long") but scheduler "quick" (of actions[1], which serves it) allows walltime 01:00:00',
      );
    }
  });

  it('a job that names no scheduler runs anywhere: only the actions that list it are checked', () => {
    const unlisted = `  - trigger_type: on_workflow_start\n    action_type: schedule_nodes\n    scheduler: quick\n    scheduler_type: slurm\n    num_allocations: 1\n`;
    expect(load(withAction(unlisted)).jobs[0]?.scheduler).toBeNull();
    const byRegex = `  - trigger_type: on_jobs_ready\n    action_type: schedule_nodes\n    job_name_regexes: ["^a$"]\n    scheduler: quick\n    scheduler_type: slurm\n    num_allocations: 1\n`;
    expect(refusal(withAction(byRegex)).message).toMatch(/job "a" needs runtime PT3H .* "quick" \(of actions\[1\]/);
  });

  it('one worker per node has one node, whatever the scheduler gives', () => {
    const perNode = (listed: string) =>
      `  - trigger_type: on_workflow_start\n    action_type: schedule_nodes\n${listed}    scheduler: wide\n    scheduler_type: slurm\n    num_allocations: 1\n    start_one_worker_per_node: true\n`;
    const message =
      'spec.yaml:12: jobs[0]: job "a" needs 2 nodes (resource_requirements "long") but actions[1] starts one worker per node of scheduler "wide", so each worker has 1 node';
    // Serving the jobs that name its scheduler, or the ones it lists.
    expectRefusal(withAction(perNode(''), '    scheduler: wide\n'), 'SPEC_INVALID', message);
    expectRefusal(withAction(perNode('    jobs: [a]\n')), 'SPEC_INVALID', message);
    expect(() => load(withAction(perNode('').replace('true\n', 'false\n'), '    scheduler: wide\n'))).not.toThrow();
  });
});
