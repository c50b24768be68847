import { describe, expect, it } from 'vitest';
import { dependencyNames, expectRefusal, load } from './spec-test-helpers.js';

const JOB = 'jobs:\n  - name: a\n    command: x\n';

describe('failure handlers', () => {
  const handlers = (rules: string, job = '    failure_handler: h\n') =>
    `name: w\nfailure_handlers:\n  - name: h\n    rules:\n${rules}jobs:\n  - name: a\n    command: x\n${job}`;

  it('resolves rules in the order written, with torc defaults', () => {
    const workflow = load(
      handlers(
        '      - match_all_exit_codes: true\n      - exit_codes: [10, 10, 0, 255]\n        recovery_script: |\n          echo fix\n          exit 0\n        max_retries: 5\n',
      ),
    );
    expect(workflow.failureHandlers).toEqual([
      {
        name: 'h',
        rules: [
          { exitCodes: null, recoveryScript: null, maxRetries: 3 },
          { exitCodes: [10, 0, 255], recoveryScript: 'echo fix\nexit 0\n', maxRetries: 5 },
        ],
      },
    ]);
    expect(workflow.jobs[0]?.failureHandler).toBe('h');
    expect(load(`name: w\n${JOB}`).jobs[0]?.failureHandler).toBeNull();
    expect(load(`name: w\n${JOB}`).failureHandlers).toEqual([]);
  });

  it('treats an empty exit_codes list and match_all_exit_codes: false as not given', () => {
    const workflow = load(
      handlers(
        '      - exit_codes: []\n        match_all_exit_codes: true\n      - exit_codes: [3]\n        match_all_exit_codes: false\n',
      ),
    );
    expect(workflow.failureHandlers[0]?.rules.map((r) => r.exitCodes)).toEqual([null, [3]]);
  });

  it('refuses a rule with neither or both ways of choosing exit codes', () => {
    expectRefusal(
      handlers('      - max_retries: 2\n'),
      'SPEC_INVALID',
      'spec.yaml:5: failure_handlers[0].rules[0]: a rule needs "exit_codes" (a list of codes 0..255) or "match_all_exit_codes: true"',
    );
    expectRefusal(
      handlers('      - exit_codes: [1]\n        match_all_exit_codes: true\n'),
      'SPEC_INVALID',
      'spec.yaml:5: failure_handlers[0].rules[0]: a rule gives either exit_codes or match_all_exit_codes: true, not both (write two rules: the one naming the code wins)',
    );
  });

  it('refuses bad exit codes, retries and recovery scripts', () => {
    expectRefusal(
      handlers('      - exit_codes: [256]\n'),
      'SPEC_INVALID',
      'spec.yaml:5: failure_handlers[0].rules[0].exit_codes[0]: expected a number <= 255, got 256',
    );
    expectRefusal(
      handlers('      - exit_codes: [-1]\n'),
      'SPEC_INVALID',
      'spec.yaml:5: failure_handlers[0].rules[0].exit_codes[0]: expected a number >= 0, got -1',
    );
    expectRefusal(
      handlers('      - exit_codes: [1.5]\n'),
      'SPEC_INVALID',
      'spec.yaml:5: failure_handlers[0].rules[0].exit_codes[0]: expected an integer, got 1.5',
    );
    expectRefusal(
      handlers('      - exit_codes: [1]\n        max_retries: 0\n'),
      'SPEC_INVALID',
      'spec.yaml:6: failure_handlers[0].rules[0].max_retries: expected a number >= 1, got 0',
    );
    expectRefusal(
      handlers('      - exit_codes: [1]\n        recovery_script: ""\n'),
      'SPEC_INVALID',
      'spec.yaml:6: failure_handlers[0].rules[0].recovery_script: expected a non-empty string',
    );
    expectRefusal(
      handlers('      - exit_codes: [1]\n        recovery_script: "a\\0b"\n'),
      'SPEC_INVALID',
      'spec.yaml:6: failure_handlers[0].rules[0].recovery_script: contains a NUL character, which PostgreSQL text cannot store',
    );
    expectRefusal(
      `name: w\nfailure_handlers:\n  - name: h\n    rules: []\n${JOB}`,
      'SPEC_INVALID',
      'spec.yaml:4: failure_handlers[0].rules: expected a non-empty list',
    );
  });

  it('refuses an unknown handler, naming the defined ones, and a handler defined twice', () => {
    expectRefusal(
      handlers('      - exit_codes: [1]\n', '    failure_handler: retry\n'),
      'SPEC_UNKNOWN_REFERENCE',
      'spec.yaml:9: jobs[0].failure_handler: unknown failure handler "retry" (defined: "h")',
    );
    expectRefusal(
      `name: w\n${JOB}    failure_handler: h\n`,
      'SPEC_UNKNOWN_REFERENCE',
      'spec.yaml:5: jobs[0].failure_handler: unknown failure handler "h" (none are defined)',
    );
    expectRefusal(
      'name: w\nfailure_handlers:\n  - name: h\n    rules: [{exit_codes: [1]}]\n  - name: h\n    rules: [{exit_codes: [2]}]\n' +
        JOB,
      'SPEC_DUPLICATE_NAME',
      'spec.yaml:5: failure_handlers[1].name: failure handler name "h" is defined twice: failure_handlers[0] (line 3) and failure_handlers[1] (line 5)',
    );
  });
});

describe('resource monitoring', () => {
  it('fills torc defaults when the spec says nothing', () => {
    expect(load(`name: w\n${JOB}`).resourceMonitor).toEqual({
      enabled: false,
      granularity: 'summary',
      sampleIntervalSeconds: 5,
      generatePlots: false,
    });
  });

  it('reads the flat keys, and lets the nested jobs block win over them', () => {
    const flat = load(
      `name: w\nresource_monitor:\n  enabled: true\n  granularity: time_series\n  sample_interval_seconds: 2\n  generate_plots: true\n  metrics: [cpu_percent]\n${JOB}`,
    );
    expect(flat.resourceMonitor).toEqual({
      enabled: true,
      granularity: 'time_series',
      sampleIntervalSeconds: 2,
      generatePlots: true,
    });
    const nested = load(
      `name: w\nresource_monitor:\n  enabled: false\n  granularity: summary\n  flush_interval_seconds: 300\n  jobs: {enabled: true, granularity: time_series}\n  compute_node: {enabled: false}\n${JOB}`,
    );
    expect(nested.resourceMonitor).toMatchObject({ enabled: true, granularity: 'time_series' });
  });

  it('refuses intervals out of range, unknown granularities and compute-node monitoring', () => {
    expectRefusal(
      `name: w\nresource_monitor:\n  sample_interval_seconds: 0\n${JOB}`,
      'SPEC_INVALID',
      'spec.yaml:3: resource_monitor.sample_interval_seconds: expected a number >= 1, got 0',
    );
    expectRefusal(
      `name: w\nresource_monitor:\n  sample_interval_seconds: 3601\n${JOB}`,
      'SPEC_INVALID',
      'spec.yaml:3: resource_monitor.sample_interval_seconds: expected a number <= 3600, got 3601',
    );
    expectRefusal(
      `name: w\nresource_monitor:\n  granularity: TimeSeries\n${JOB}`,
      'SPEC_INVALID',
      'spec.yaml:3: resource_monitor.granularity: expected one of "summary", "time_series", got "TimeSeries"',
    );
    expectRefusal(
      `name: w\nresource_monitor:\n  compute_node:\n    enabled: true\n${JOB}`,
      'SPEC_UNSUPPORTED_KEY',
      'spec.yaml:4: resource_monitor.compute_node.enabled: compute-node monitoring is not supported by Sluice (only enabled: false is accepted)',
    );
  });
});

describe('job priority, ephemeral user data and torc resource defaults', () => {
  it('reads priority, 0 by default, within int4', () => {
    const workflow = load(`name: w\n${JOB}    priority: 2147483647\n  - name: b\n    command: x\n`);
    expect(workflow.jobs.map((j) => j.priority)).toEqual([2_147_483_647, 0]);
    expectRefusal(
      `name: w\n${JOB}    priority: -1\n`,
      'SPEC_INVALID',
      'spec.yaml:5: jobs[0].priority: expected a number >= 0, got -1',
    );
    expectRefusal(
      `name: w\n${JOB}    priority: 2147483648\n`,
      'SPEC_INVALID',
      'spec.yaml:5: jobs[0].priority: expected a number <= 2147483647, got 2147483648',
    );
  });

  it('reads is_ephemeral, false by default', () => {
    const workflow = load(`name: w\nuser_data:\n  - name: tmp\n    is_ephemeral: true\n  - name: keep\n${JOB}`);
    expect(workflow.userData.map((u) => [u.name, u.isEphemeral])).toEqual([
      ['tmp', true],
      ['keep', false],
    ]);
  });

  it('gives jobs without requirements torc default one (a minute) and named ones an hour', () => {
    const workflow = load(
      `name: w\nresource_requirements:\n  - name: big\n    num_cpus: 8\n${JOB}    resource_requirements: big\n  - name: b\n    command: x\n`,
    );
    expect(workflow.resourceRequirements).toEqual([
      {
        name: 'big',
        numCpus: 8,
        numGpus: 0,
        numNodes: 1,
        memory: '1m',
        memoryBytes: 1 << 20,
        runtime: 'PT1H',
        runtimeSeconds: 3600,
      },
      {
        name: 'default',
        numCpus: 1,
        numGpus: 0,
        numNodes: 1,
        memory: '1m',
        memoryBytes: 1 << 20,
        runtime: 'P0DT1M',
        runtimeSeconds: 60,
      },
    ]);
  });
});

describe('user data in commands', () => {
  it('inlines the JSON text of the data, null when there is none, and declares the dependency', () => {
    const workflow = load(`name: w
user_data:
  - name: cfg
    data: {lr: 0.1, name: "it's"}
  - name: empty
jobs:
  - name: make
    command: make > \${user_data.output.empty}
  - name: use
    command: run --cfg '\${user_data.input.cfg}' --e \${user_data.input.empty}
`);
    expect(workflow.jobs[1]?.command).toBe(`run --cfg '{"lr":0.1,"name":"it's"}' --e null`);
    expect(workflow.jobs[1]?.inputUserData).toEqual(['cfg', 'empty']);
    expect(dependencyNames(workflow, 'use')).toEqual(['make']);
  });

  it('substitutes parameters into the strings of parameterized user data, as torc does', () => {
    const workflow = load(`name: w
user_data:
  - name: cfg_{x}
    data: {dir: "/r/{x}", n: 3, keep: "{other} {x:03d}", list: ["{x}"]}
    parameters: {x: "[1, 2]"}
${JOB}`);
    expect(workflow.userData.map((u) => u.data)).toEqual([
      { dir: '/r/1', n: 3, keep: '{other} 001', list: ['1'] },
      { dir: '/r/2', n: 3, keep: '{other} 002', list: ['2'] },
    ]);
  });
});

describe('keys of torc releases before', () => {
  it('reads the legacy job keys of torc sample workflows', () => {
    const workflow = load(`name: w
resource_requirements:
  - name: small
slurm_schedulers:
  - name: s
files:
  - name: raw
    path: /raw
    st_mtime: 1640995200.0
user_data:
  - name: meta
jobs:
  - name: download
    command: x
    resource_requirements_name: small
    scheduler_name: s
    blocked_by_job_names: null
    input_file_names: null
    output_file_names: [raw]
    output_data_names: [meta]
  - name: use
    command: x
    blocked_by_job_names: [download]
    input_file_names: [raw]
    input_user_data_names: [meta]
`);
    expect(workflow.jobs[0]).toMatchObject({
      resourceRequirements: 'small',
      scheduler: 's',
      outputFiles: ['raw'],
      outputUserData: ['meta'],
    });
    expect(workflow.jobs[1]).toMatchObject({ dependsOn: [0], inputFiles: ['raw'], inputUserData: ['meta'] });
  });

  it('refuses a job giving a key in both spellings, and names the legacy line in errors', () => {
    expectRefusal(
      `name: w\n${JOB}    depends_on: [b]\n    blocked_by_job_names: [b]\n  - name: b\n    command: x\n`,
      'SPEC_INVALID',
      'spec.yaml:6: jobs[0].blocked_by_job_names: "blocked_by_job_names" is torc\'s old name for "depends_on"; give one of them',
    );
    expectRefusal(
      `name: w\n${JOB}    blocked_by_job_names: [nope]\n`,
      'SPEC_UNKNOWN_REFERENCE',
      'spec.yaml:5: jobs[0].depends_on[0]: unknown job "nope"',
    );
  });
});
