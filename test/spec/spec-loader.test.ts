import { DEFAULT_RESOURCE_REQUIREMENTS_NAME } from '@sluice/core/spec';
import { describe, expect, it } from 'vitest';
import { dependencyNames, expectRefusal, jobNames, load, refusal } from './spec-test-helpers.js';

const EVERY_KEY = `name: pipeline
description: every key at once
user: alice
project: churn
metadata: '{"team": "ml", "version": 2}'
parameters:
  seed: "[1, 2]"
slurm_defaults:
  qos: high
  mail-type: END,FAIL
  requeue: true
  nice: 10
resource_requirements:
  - name: small
    num_cpus: 2
    num_gpus: 0
    num_nodes: 1
    memory: 512m
    runtime: PT30M
  - name: gpu
    num_cpus: 4
    num_gpus: 1
    num_nodes: 1
    memory: 1.5g
    runtime: P1DT2H
slurm_schedulers:
  - name: cpu
    account: acct
    partition: short
    walltime: "1-04:00:00"
    nodes: 2
    mem: 8G
    gres: gpu:1
    qos: normal
    ntasks_per_node: 4
    tmp: 10G
    extra: --constraint=haswell
  - name: bare
files:
  - name: raw
    path: /data/raw.csv
  - name: model_{seed}
    path: /models/{seed}.pt
    use_parameters: [seed]
  - name: log_{kind}
    path: /logs/{kind}.log
    parameters:
      kind: "['a','b']"
user_data:
  - name: config
    data: { lr: 0.1, layers: [1, 2] }
  - name: metrics_{seed}
    use_parameters: [seed]
  - name: summary
jobs:
  - name: download
    command: curl -o \${files.output.raw} https://example.com
    invocation_script: module load curl
    resource_requirements: small
    scheduler: cpu
    cancel_on_blocking_job_failure: false
    supports_termination: true
    output_user_data: [config]
  - name: train_{seed}
    command: train --seed {seed} --data \${files.input.raw}
    use_parameters: [seed]
    resource_requirements: gpu
    input_user_data: [config]
    output_files: ["model_{seed}"]
    output_user_data:
      - metrics_{seed}
  - name: report
    command: report
    depends_on: [download]
    depends_on_regexes: ["train_.*"]
    input_file_regexes: ["model_.*"]
    input_user_data_regexes: ["metrics_.*"]
    output_file_regexes: ["log_.*"]
    output_user_data_regexes: ["summ.*"]
  - name: publish_{kind}_{n}
    command: publish {kind} {n}
    input_files: ["log_{kind}"]
    parameters:
      kind: "['a','b']"
      n: "[1,2]"
    parameter_mode: zip
actions:
  - trigger_type: on_workflow_start
    action_type: run_commands
    commands: ["mkdir -p out"]
  - trigger_type: on_jobs_ready
    action_type: schedule_nodes
    jobs: [report]
    job_name_regexes: ["train_.*"]
    scheduler: cpu
    scheduler_type: slurm
    num_allocations: 2
    start_one_worker_per_node: true
    max_parallel_jobs: 8
    persistent: true
`;

describe('loading a spec that uses every key', () => {
  it('resolves every value, default and dependency', () => {
    const workflow = load(EVERY_KEY);
    expect(workflow).toEqual({
      name: 'pipeline',
      description: 'every key at once',
      user: 'alice',
      project: 'churn',
      metadata: { team: 'ml', version: 2 },
      resourceRequirements: [
        {
          name: 'small',
          numCpus: 2,
          numGpus: 0,
          numNodes: 1,
          memory: '512m',
          memoryBytes: 512 * 1024 ** 2,
          runtime: 'PT30M',
          runtimeSeconds: 1800,
        },
        {
          name: 'gpu',
          numCpus: 4,
          numGpus: 1,
          numNodes: 1,
          memory: '1.5g',
          memoryBytes: 1.5 * 1024 ** 3,
          runtime: 'P1DT2H',
          runtimeSeconds: 93600,
        },
        {
          name: 'default',
          numCpus: 1,
          numGpus: 0,
          numNodes: 1,
          memory: '1m',
          memoryBytes: 1024 ** 2,
          runtime: 'P0DT1M',
          runtimeSeconds: 60,
        },
      ],
      slurmSchedulers: [
        {
          name: 'cpu',
          account: 'acct',
          partition: 'short',
          walltime: '1-04:00:00',
          nodes: 2,
          mem: '8G',
          gres: 'gpu:1',
          qos: 'normal',
          ntasksPerNode: 4,
          tmp: '10G',
          extra: '--constraint=haswell',
        },
        {
          name: 'bare',
          account: null,
          partition: null,
          walltime: null,
          nodes: null,
          mem: null,
          gres: null,
          qos: null,
          ntasksPerNode: null,
          tmp: null,
          extra: null,
        },
      ],
      slurmDefaults: { qos: 'high', 'mail-type': 'END,FAIL', requeue: true, nice: 10 },
      files: [
        { name: 'raw', path: '/data/raw.csv' },
        { name: 'model_1', path: '/models/1.pt' },
        { name: 'model_2', path: '/models/2.pt' },
        { name: 'log_a', path: '/logs/a.log' },
        { name: 'log_b', path: '/logs/b.log' },
      ],
      userData: [
        { name: 'config', data: { lr: 0.1, layers: [1, 2] }, isEphemeral: false },
        { name: 'metrics_1', data: null, isEphemeral: false },
        { name: 'metrics_2', data: null, isEphemeral: false },
        { name: 'summary', data: null, isEphemeral: false },
      ],
      jobs: [
        {
          name: 'download',
          command: 'curl -o /data/raw.csv https://example.com',
          invocationScript: 'module load curl',
          resourceRequirements: 'small',
          scheduler: 'cpu',
          cancelOnBlockingJobFailure: false,
          supportsTermination: true,
          priority: 0,
          failureHandler: null,
          dependsOn: [],
          inputFiles: [],
          outputFiles: ['raw'],
          inputUserData: [],
          outputUserData: ['config'],
        },
        ...[1, 2].map((seed) => ({
          name: `train_${seed}`,
          command: `train --seed ${seed} --data /data/raw.csv`,
          invocationScript: null,
          resourceRequirements: 'gpu',
          scheduler: null,
          cancelOnBlockingJobFailure: true,
          supportsTermination: false,
          priority: 0,
          failureHandler: null,
          dependsOn: [0],
          inputFiles: ['raw'],
          outputFiles: [`model_${seed}`],
          inputUserData: ['config'],
          outputUserData: [`metrics_${seed}`],
        })),
        {
          name: 'report',
          command: 'report',
          invocationScript: null,
          resourceRequirements: DEFAULT_RESOURCE_REQUIREMENTS_NAME,
          scheduler: null,
          cancelOnBlockingJobFailure: true,
          supportsTermination: false,
          priority: 0,
          failureHandler: null,
          dependsOn: [0, 1, 2],
          inputFiles: ['model_1', 'model_2'],
          outputFiles: ['log_a', 'log_b'],
          inputUserData: ['metrics_1', 'metrics_2'],
          outputUserData: ['summary'],
        },
        ...[
          ['a', 1],
          ['b', 2],
        ].map(([kind, n]) => ({
          name: `publish_${kind}_${n}`,
          command: `publish ${kind} ${n}`,
          invocationScript: null,
          resourceRequirements: 'default',
          scheduler: null,
          cancelOnBlockingJobFailure: true,
          supportsTermination: false,
          priority: 0,
          failureHandler: null,
          dependsOn: [3],
          inputFiles: [`log_${kind}`],
          outputFiles: [],
          inputUserData: [],
          outputUserData: [],
        })),
      ],
      actions: [
        {
          triggerType: 'on_workflow_start',
          actionType: 'run_commands',
          persistent: false,
          jobs: [],
          commands: ['mkdir -p out'],
          scheduler: null,
          schedulerType: null,
          numAllocations: null,
          startOneWorkerPerNode: false,
          maxParallelJobs: null,
        },
        {
          triggerType: 'on_jobs_ready',
          actionType: 'schedule_nodes',
          persistent: true,
          jobs: [1, 2, 3],
          commands: null,
          scheduler: 'cpu',
          schedulerType: 'slurm',
          numAllocations: 2,
          startOneWorkerPerNode: true,
          maxParallelJobs: 8,
        },
      ],
      failureHandlers: [],
      resourceMonitor: { enabled: false, granularity: 'summary', sampleIntervalSeconds: 5, generatePlots: false },
    });
  });

  it('gives the same result from the same spec written as JSON', () => {
    const yaml = `name: w
parameters:
  i: "1:2"
files:
  - name: f_{i}
    path: /f/{i}
    use_parameters: [i]
jobs:
  - name: make_{i}
    command: make > \${files.output.f_{i}}
    use_parameters: [i]
  - name: all
    command: cat
    input_file_regexes: ["f_.*"]
`;
    const json = JSON.stringify({
      name: 'w',
      parameters: { i: '1:2' },
      files: [{ name: 'f_{i}', path: '/f/{i}', use_parameters: ['i'] }],
      jobs: [
        { name: 'make_{i}', command: 'make > ${files.output.f_{i}}', use_parameters: ['i'] },
        { name: 'all', command: 'cat', input_file_regexes: ['f_.*'] },
      ],
    });
    const fromYaml = load(yaml);
    expect(load(json, 'json')).toEqual(fromYaml);
    expect(fromYaml.jobs.map((j) => [j.name, j.command, j.dependsOn])).toEqual([
      ['make_1', 'make > /f/1', []],
      ['make_2', 'make > /f/2', []],
      ['all', 'cat', [0, 1]],
    ]);
  });
});

describe('minimal specs and defaults', () => {
  it('needs only a name and one job with a command', () => {
    const workflow = load('name: w\njobs:\n  - name: a\n    command: echo hi\n');
    expect(workflow.description).toBeNull();
    expect(workflow.user).toBeNull();
    expect(workflow.project).toBeNull();
    expect(workflow.metadata).toBeNull();
    expect(workflow.files).toEqual([]);
    expect(workflow.userData).toEqual([]);
    expect(workflow.slurmSchedulers).toEqual([]);
    expect(workflow.slurmDefaults).toEqual({});
    expect(workflow.actions).toEqual([]);
    expect(workflow.jobs).toEqual([
      {
        name: 'a',
        command: 'echo hi',
        invocationScript: null,
        resourceRequirements: 'default',
        scheduler: null,
        cancelOnBlockingJobFailure: true,
        supportsTermination: false,
        priority: 0,
        failureHandler: null,
        dependsOn: [],
        inputFiles: [],
        outputFiles: [],
        inputUserData: [],
        outputUserData: [],
      },
    ]);
  });

  it('adds the default resource requirements only for jobs that name none', () => {
    const named = load(`name: w
resource_requirements:
  - name: big
    num_cpus: 4
jobs:
  - name: a
    command: x
    resource_requirements: big
`);
    expect(named.resourceRequirements.map((r) => r.name)).toEqual(['big']);
    expect(named.resourceRequirements[0]).toMatchObject({
      numCpus: 4,
      numGpus: 0,
      numNodes: 1,
      memory: '1m',
      memoryBytes: 1048576,
      runtime: 'PT1H',
      runtimeSeconds: 3600,
    });
  });

  it('uses a default the spec defines itself instead of adding one', () => {
    const workflow = load(`name: w
resource_requirements:
  - name: default
    num_cpus: 16
    memory: 2g
jobs:
  - name: a
    command: x
`);
    expect(workflow.resourceRequirements).toHaveLength(1);
    expect(workflow.resourceRequirements[0]).toMatchObject({
      name: 'default',
      numCpus: 16,
      memoryBytes: 2 * 1024 ** 3,
    });
    expect(workflow.jobs[0]?.resourceRequirements).toBe('default');
  });

  it('reads null optional keys, as torc specs write them, as absent', () => {
    const workflow = load(`name: w
description: null
jobs:
  - name: a
    command: x
    invocation_script: null
    depends_on: null
    scheduler:
slurm_schedulers:
  - name: s
    gres: null
`);
    expect(workflow.jobs[0]?.invocationScript).toBeNull();
    expect(workflow.slurmSchedulers[0]?.gres).toBeNull();
  });

  it('accepts memory sizes in every unit, and plain byte counts', () => {
    const sizes = {
      '100k': 102400,
      '512m': 536870912,
      '4g': 4294967296,
      '1.5g': 1610612736,
      '2t': 2 * 1024 ** 4,
      '4G': 4294967296,
    };
    for (const [memory, bytes] of Object.entries(sizes)) {
      const workflow = load(
        `name: w\nresource_requirements:\n  - name: r\n    memory: ${memory}\njobs:\n  - name: a\n    command: x\n    resource_requirements: r\n`,
      );
      expect(workflow.resourceRequirements[0]).toMatchObject({ memory, memoryBytes: bytes });
    }
    const plain = load(
      'name: w\nresource_requirements:\n  - name: r\n    memory: 1048576\njobs:\n  - name: a\n    command: x\n',
    );
    expect(plain.resourceRequirements[0]).toMatchObject({ memory: '1048576', memoryBytes: 1048576 });
  });

  it('reads slurm sizes and times that YAML made numbers as text', () => {
    const workflow = load(
      'name: w\nslurm_schedulers:\n  - name: s\n    mem: 8000\njobs:\n  - name: a\n    command: x\n',
    );
    expect(workflow.slurmSchedulers[0]?.mem).toBe('8000');
  });

  it('keeps metadata as the JSON value its string holds', () => {
    const workflow = load(`name: w\nmetadata: '[1, "two"]'\njobs:\n  - name: a\n    command: x\n`);
    expect(workflow.metadata).toEqual([1, 'two']);
  });

  it('shares job settings through YAML anchors and merge keys', () => {
    const merged = load(`name: w
jobs:
  - &base
    name: a
    command: run
    supports_termination: true
  - <<: *base
    name: b
`);
    expect(merged.jobs.map((j) => [j.name, j.command, j.supportsTermination])).toEqual([
      ['a', 'run', true],
      ['b', 'run', true],
    ]);
  });
});

describe('syntax errors', () => {
  it('names the line of a bad indentation', () => {
    const error = refusal('name: w\njobs:\n  - name: a\n   command: x\n');
    expect(error.code).toBe('SPEC_SYNTAX');
    expect(error.message).toMatch(/^spec\.yaml:4: invalid YAML: /);
    expect(error.details).toEqual({ path: '', line: 4 });
  });

  it('refuses a key given twice', () => {
    const error = refusal('name: w\nname: v\njobs: []\n');
    expect(error.code).toBe('SPEC_SYNTAX');
    expect(error.message).toMatch(/^spec\.yaml:2: invalid YAML: Map keys must be unique/);
  });

  it('explains the commonest YAML mistake with placeholders', () => {
    expectRefusal(
      'name: w\njobs:\n  - name: a_{i}\n    command: x\n    depends_on: [b_{i}]\n    parameters: {i: "1:2"}\n',
      'SPEC_SYNTAX',
      'spec.yaml:5: invalid YAML: Missing , or : between flow sequence items (inside [ ], quote values with placeholders: ["prep_{i}"])',
    );
  });

  it('names the JSON line', () => {
    expectRefusal(
      '{\n  "name": "w",\n  "jobs": [\n    {"name": "a", "command": "x",}\n  ]\n}',
      'SPEC_SYNTAX',
      'spec.json:4: invalid JSON: Expected double-quoted property name',
      'json',
    );
  });

  it('refuses a spec that is empty or not a mapping', () => {
    expectRefusal(
      '# nothing here\n',
      'SPEC_INVALID',
      'spec.yaml: the spec is empty: expected a mapping with at least "name" and "jobs"',
    );
    expectRefusal('- a\n- b\n', 'SPEC_INVALID', 'spec.yaml:1: expected a mapping, got a list');
  });
});

describe('shape errors name the source, line, path and problem', () => {
  it('names an unknown key at the line of the key, suggesting the right one', () => {
    const error = expectRefusal(
      'name: w\njobs:\n  - name: a\n    comand: echo\n',
      'SPEC_INVALID',
      'spec.yaml:4: jobs[0].comand: unknown key "comand" (did you mean "command"?)',
    );
    expect(error.details).toEqual({ path: 'jobs[0].comand', line: 4 });
  });

  it('names unknown keys at every level', () => {
    expectRefusal(
      'name: w\njbos: []\njobs:\n  - name: a\n    command: x\n',
      'SPEC_INVALID',
      'spec.yaml:2: jbos: unknown key "jbos" (did you mean "jobs"?)',
    );
    expectRefusal(
      'name: w\njobs:\n  - name: a\n    command: x\nfiles:\n  - name: f\n    path: p\n    size: 3\n',
      'SPEC_INVALID',
      'spec.yaml:8: files[0].size: unknown key "size"',
    );
    expectRefusal(
      'name: w\njobs:\n  - name: a\n    command: x\nresource_requirements:\n  - name: r\n    cpus: 3\n',
      'SPEC_INVALID',
      'spec.yaml:7: resource_requirements[0].cpus: unknown key "cpus"',
    );
    expectRefusal(
      'name: w\njobs:\n  - name: a\n    command: x\nslurm_schedulers:\n  - name: s\n    acount: a\n',
      'SPEC_INVALID',
      'spec.yaml:7: slurm_schedulers[0].acount: unknown key "acount" (did you mean "account"?)',
    );
    expectRefusal(
      'name: w\njobs:\n  - name: a\n    command: x\nuser_data:\n  - name: u\n    value: 3\n',
      'SPEC_INVALID',
      'spec.yaml:7: user_data[0].value: unknown key "value"',
    );
    expectRefusal(
      'name: w\njobs:\n  - name: a\n    command: x\nactions:\n  - trigger_type: on_workflow_start\n    action_type: run_commands\n    commands: [x]\n    when: now\n',
      'SPEC_INVALID',
      'spec.yaml:9: actions[0].when: unknown key "when"',
    );
  });

  it('refuses torc keys Sluice does not support by name, not as unknown', () => {
    const topLevel = [
      'variables',
      'env',
      'datasets',
      'parameters_file',
      'execution_config',
      'dynamic_jobs',
      'access_groups',
      'compute_node_expiration_buffer_seconds',
      'compute_node_wait_for_new_jobs_seconds',
      'compute_node_wait_for_healthy_database_minutes',
      'jobs_sort_method',
      'priority',
      'schedule_compute_nodes',
      'resource_monitor_config',
      'slurm_config',
    ];
    for (const key of topLevel) {
      const error = expectRefusal(
        `name: w\n${key}: 1\njobs:\n  - name: a\n    command: x\n`,
        'SPEC_UNSUPPORTED_KEY',
        `spec.yaml:2: ${key}: key "${key}" is not supported by Sluice`,
      );
      expect(error.details).toEqual({ path: key, line: 2 });
    }
    for (const key of ['env', 'stdio', 'label', 'parameters_file', 'use_parameters_file', 'input_datasets']) {
      expectRefusal(
        `name: w\njobs:\n  - name: a\n    command: x\n    ${key}: x\n`,
        'SPEC_UNSUPPORTED_KEY',
        `spec.yaml:5: jobs[0].${key}: key "${key}" is not supported by Sluice`,
      );
    }
    expectRefusal(
      'name: w\njobs:\n  - name: a\n    command: x\nfiles:\n  - name: f\n    path: p\n    identifier: x\n',
      'SPEC_UNSUPPORTED_KEY',
      'spec.yaml:8: files[0].identifier: key "identifier" is not supported by Sluice',
    );
  });

  it('never suggests a torc key Sluice refuses for a misspelling', () => {
    expectRefusal(
      'name: w\njobs:\n  - name: a\n    command: x\n    lable: x\n',
      'SPEC_INVALID',
      'spec.yaml:5: jobs[0].lable: unknown key "lable"',
    );
    expectRefusal(
      'name: w\nenvv: {}\njobs:\n  - name: a\n    command: x\n',
      'SPEC_INVALID',
      'spec.yaml:2: envv: unknown key "envv"',
    );
  });

  it('accepts torc switches set to their default, which ask for nothing Sluice lacks', () => {
    const workflow = load(`name: w
use_pending_failed: false
enable_ro_crate: false
compute_node_ignore_workflow_completion: false
env:
jobs:
  - name: a
    command: x
files:
  - name: f
    path: p
    st_mtime: null
slurm_schedulers:
  - name: s
    serialize_allocations: false
`);
    expect(workflow.jobs).toHaveLength(1);
    for (const key of ['use_pending_failed', 'enable_ro_crate']) {
      expectRefusal(
        `name: w\n${key}: true\njobs:\n  - name: a\n    command: x\n`,
        'SPEC_UNSUPPORTED_KEY',
        `spec.yaml:2: ${key}: key "${key}" is not supported by Sluice (only false, torc's default, is accepted)`,
      );
    }
    expectRefusal(
      'name: w\njobs:\n  - name: a\n    command: x\nslurm_schedulers:\n  - name: s\n    serialize_allocations: true\n',
      'SPEC_UNSUPPORTED_KEY',
      `spec.yaml:7: slurm_schedulers[0].serialize_allocations: key "serialize_allocations" is not supported by Sluice (only false, torc's default, is accepted)`,
    );
    // torc records file modification times in st_mtime; Sluice keeps none, so any is accepted.
    expect(
      load(
        'name: w\njobs:\n  - name: a\n    command: x\nfiles:\n  - name: f\n    path: p\n    st_mtime: 1640995200.0\n',
      ).files,
    ).toEqual([{ name: 'f', path: 'p' }]);
  });

  it('names a missing required key at its mapping', () => {
    expectRefusal(
      'name: w\njobs:\n  - name: a\n    invocation_script: x\n',
      'SPEC_INVALID',
      'spec.yaml:3: jobs[0]: missing required key "command"',
    );
    expectRefusal('jobs:\n  - name: a\n    command: x\n', 'SPEC_INVALID', 'spec.yaml:1: missing required key "name"');
    expectRefusal('name: w\n', 'SPEC_INVALID', 'spec.yaml:1: missing required key "jobs"');
    expectRefusal(
      'name: w\njobs:\n  - name: a\n    command: x\nfiles:\n  - name: f\n',
      'SPEC_INVALID',
      'spec.yaml:6: files[0]: missing required key "path"',
    );
  });

  it('names wrong types with the value that was given', () => {
    expectRefusal(
      'name: w\njobs:\n  - name: a\n    command: x\nresource_requirements:\n  - name: r\n    num_cpus: abc\n',
      'SPEC_INVALID',
      'spec.yaml:7: resource_requirements[0].num_cpus: expected a number, got "abc"',
    );
    expectRefusal(
      'name: w\njobs:\n  - name: a\n    command: x\nresource_requirements:\n  - name: r\n    num_cpus: 1.5\n',
      'SPEC_INVALID',
      'spec.yaml:7: resource_requirements[0].num_cpus: expected an integer, got 1.5',
    );
    expectRefusal(
      'name: w\njobs:\n  - name: a\n    command: x\nresource_requirements:\n  - name: r\n    num_cpus: 0\n',
      'SPEC_INVALID',
      'spec.yaml:7: resource_requirements[0].num_cpus: expected a number >= 1, got 0',
    );
    expectRefusal(
      'name: w\njobs:\n  - name: a\n    command: x\n    depends_on: b\n',
      'SPEC_INVALID',
      'spec.yaml:5: jobs[0].depends_on: expected a list, got "b"',
    );
    expectRefusal(
      'name: w\njobs:\n  - name: a\n    command: x\n    supports_termination: yes\n',
      'SPEC_INVALID',
      'spec.yaml:5: jobs[0].supports_termination: expected true or false, got "yes"',
    );
    expectRefusal('name: w\njobs: {}\n', 'SPEC_INVALID', 'spec.yaml:2: jobs: expected a list, got a mapping');
    expectRefusal('name: w\njobs: []\n', 'SPEC_INVALID', 'spec.yaml:2: jobs: expected a non-empty list');
    expectRefusal(
      'name: ""\njobs:\n  - name: a\n    command: x\n',
      'SPEC_INVALID',
      'spec.yaml:1: name: expected a non-empty string',
    );
    expectRefusal(
      'name: w\njobs:\n  - name: a\n    command: x\n    parameter_mode: prod\n    parameters: {i: "1:2"}\n',
      'SPEC_INVALID',
      'spec.yaml:5: jobs[0].parameter_mode: expected one of "product", "zip", got "prod"',
    );
  });

  it('refuses bad memory sizes and runtimes', () => {
    expectRefusal(
      'name: w\njobs:\n  - name: a\n    command: x\nresource_requirements:\n  - name: r\n    memory: 4x\n',
      'SPEC_INVALID',
      'spec.yaml:7: resource_requirements[0].memory: invalid memory size "4x": expected a number of bytes or a size with unit k, m, g, t or p, e.g. "512m", "1.5g"',
    );
    expectRefusal(
      'name: w\njobs:\n  - name: a\n    command: x\nresource_requirements:\n  - name: r\n    runtime: 1h\n',
      'SPEC_INVALID',
      'spec.yaml:7: resource_requirements[0].runtime: invalid duration "1h": expected an ISO-8601 duration such as "PT30M", "PT1H30M" or "P1DT2H"',
    );
    expectRefusal(
      'name: w\njobs:\n  - name: a\n    command: x\nresource_requirements:\n  - name: r\n    runtime: P1M\n',
      'SPEC_INVALID',
      'spec.yaml:7: resource_requirements[0].runtime: invalid duration "P1M": years and months have no fixed length; use weeks, days, hours, minutes and seconds',
    );
  });

  it('takes metadata as a mapping or as a string of JSON, and refuses anything else', () => {
    const mapping = load('name: w\nmetadata:\n  team: ml\n  tags: [a]\njobs:\n  - name: a\n    command: x\n');
    expect(mapping.metadata).toEqual({ team: 'ml', tags: ['a'] });
    const error = refusal("name: w\nmetadata: '{not json'\njobs:\n  - name: a\n    command: x\n");
    expect(error.code).toBe('SPEC_INVALID');
    expect(error.message).toMatch(/^spec\.yaml:2: metadata: metadata is not valid JSON: /);
    expectRefusal(
      'name: w\nmetadata: [1, 2]\njobs:\n  - name: a\n    command: x\n',
      'SPEC_INVALID',
      'spec.yaml:2: metadata: expected a mapping or a string of JSON, got a list',
    );
  });

  it('refuses slurm_defaults that are not plain sbatch options', () => {
    expectRefusal(
      'name: w\nslurm_defaults:\n  partition: debug\njobs:\n  - name: a\n    command: x\n',
      'SPEC_INVALID',
      'spec.yaml:3: slurm_defaults.partition: "partition" is set per scheduler in slurm_schedulers, not in slurm_defaults',
    );
    expectRefusal(
      'name: w\nslurm_defaults:\n  --qos: high\njobs:\n  - name: a\n    command: x\n',
      'SPEC_INVALID',
      'spec.yaml:3: slurm_defaults["--qos"]: expected an sbatch long option name without the leading "--", e.g. "mail-type"',
    );
    expectRefusal(
      'name: w\nslurm_defaults:\n  qos: [a]\njobs:\n  - name: a\n    command: x\n',
      'SPEC_INVALID',
      'spec.yaml:3: slurm_defaults.qos: expected a string, number or boolean, got a list',
    );
  });

  it('names lines in JSON specs too', () => {
    const error = expectRefusal(
      '{\n  "name": "w",\n  "jobs": [\n    {"name": "a", "command": "x"},\n    {\n      "name": "b",\n      "comand": "y"\n    }\n  ]\n}',
      'SPEC_INVALID',
      'spec.json:7: jobs[1].comand: unknown key "comand" (did you mean "command"?)',
      'json',
    );
    expect(error.details).toEqual({ path: 'jobs[1].comand', line: 7 });
    expectRefusal(
      '{"name": "w",\n "jobs": [\n  {"name": "a", "command": "x",\n   "resource_requirements": "big"}]}',
      'SPEC_UNKNOWN_REFERENCE',
      'spec.json:4: jobs[0].resource_requirements: unknown resource_requirements "big" (none are defined)',
      'json',
    );
  });
});

describe('names', () => {
  it('refuses a job name given twice, naming both places', () => {
    const error = expectRefusal(
      'name: w\njobs:\n  - name: a\n    command: x\n  - name: b\n    command: x\n  - name: a\n    command: y\n',
      'SPEC_DUPLICATE_NAME',
      'spec.yaml:7: jobs[2].name: job name "a" is defined twice: jobs[0] (line 3) and jobs[2] (line 7)',
    );
    expect(error.details).toEqual({ path: 'jobs[2].name', line: 7 });
  });

  it('refuses duplicates made by parameter expansion', () => {
    expectRefusal(
      'name: w\njobs:\n  - name: a_1\n    command: x\n  - name: a_{i}\n    command: x\n    parameters: {i: "1:3"}\n',
      'SPEC_DUPLICATE_NAME',
      'spec.yaml:5: jobs[1].name: job name "a_1" is defined twice: jobs[0] (line 3) and jobs[1] (line 5)',
    );
    expectRefusal(
      'name: w\njobs:\n  - name: a\n    command: x\nfiles:\n  - name: f_{x:.0f}\n    path: p\n    parameters: {x: "[1.1, 1.2]"}\n',
      'SPEC_DUPLICATE_NAME',
      'spec.yaml:6: files[0].name: two parameter combinations give the same file name "f_1"',
    );
  });

  it('refuses duplicate names of every kind', () => {
    const job = 'jobs:\n  - name: a\n    command: x\n';
    expectRefusal(
      `name: w\n${job}files:\n  - name: f\n    path: p\n  - name: f\n    path: q\n`,
      'SPEC_DUPLICATE_NAME',
      'spec.yaml:8: files[1].name: file name "f" is defined twice: files[0] (line 6) and files[1] (line 8)',
    );
    expectRefusal(
      `name: w\n${job}user_data:\n  - name: u\n  - name: u\n`,
      'SPEC_DUPLICATE_NAME',
      'spec.yaml:7: user_data[1].name: user_data name "u" is defined twice: user_data[0] (line 6) and user_data[1] (line 7)',
    );
    expectRefusal(
      `name: w\n${job}resource_requirements:\n  - name: r\n  - name: r\n`,
      'SPEC_DUPLICATE_NAME',
      'spec.yaml:7: resource_requirements[1].name: resource_requirements name "r" is defined twice: resource_requirements[0] (line 6) and resource_requirements[1] (line 7)',
    );
    expectRefusal(
      `name: w\n${job}slurm_schedulers:\n  - name: s\n  - name: s\n`,
      'SPEC_DUPLICATE_NAME',
      'spec.yaml:7: slurm_schedulers[1].name: slurm scheduler name "s" is defined twice: slurm_schedulers[0] (line 6) and slurm_schedulers[1] (line 7)',
    );
  });

  it('refuses references to names that do not exist', () => {
    const base = 'name: w\njobs:\n  - name: a\n    command: x\n  - name: b\n    command: x\n';
    expectRefusal(
      `${base}    depends_on: [a, c]\n`,
      'SPEC_UNKNOWN_REFERENCE',
      'spec.yaml:7: jobs[1].depends_on[1]: unknown job "c"',
    );
    expectRefusal(
      `${base}    resource_requirements: big\nresource_requirements:\n  - name: small\n`,
      'SPEC_UNKNOWN_REFERENCE',
      'spec.yaml:7: jobs[1].resource_requirements: unknown resource_requirements "big" (defined: "small")',
    );
    expectRefusal(
      `${base}    scheduler: gpu\n`,
      'SPEC_UNKNOWN_REFERENCE',
      'spec.yaml:7: jobs[1].scheduler: unknown slurm scheduler "gpu" (none are defined)',
    );
    expectRefusal(
      `${base}    input_files: [f]\n`,
      'SPEC_UNKNOWN_REFERENCE',
      'spec.yaml:7: jobs[1].input_files[0]: unknown file "f"',
    );
    expectRefusal(
      `${base}    output_files: [f]\n`,
      'SPEC_UNKNOWN_REFERENCE',
      'spec.yaml:7: jobs[1].output_files[0]: unknown file "f"',
    );
    expectRefusal(
      `${base}    input_user_data: [u]\n`,
      'SPEC_UNKNOWN_REFERENCE',
      'spec.yaml:7: jobs[1].input_user_data[0]: unknown user_data "u"',
    );
    expectRefusal(
      `${base}    output_user_data: [u]\n`,
      'SPEC_UNKNOWN_REFERENCE',
      'spec.yaml:7: jobs[1].output_user_data[0]: unknown user_data "u"',
    );
  });
});

describe('dependencies', () => {
  it('adds explicit, regex and implicit dependencies, deduplicated and sorted', () => {
    const workflow = load(`name: w
files:
  - name: data
    path: /d
user_data:
  - name: params
jobs:
  - name: make_params
    command: x
    output_user_data: [params]
  - name: make_data
    command: x
    output_files: [data]
  - name: use
    command: x
    depends_on: [make_data, make_params]
    depends_on_regexes: ["make_.*"]
    input_files: [data]
    input_user_data: [params]
`);
    expect(workflow.jobs[2]?.dependsOn).toEqual([0, 1]);
  });

  it('makes a job that reads a file depend on the job that writes it, whatever the order', () => {
    const workflow = load(`name: w
files:
  - name: out
    path: /out
jobs:
  - name: reader
    command: cat /out
    input_files: [out]
  - name: writer
    command: x
    output_files: [out]
`);
    expect(dependencyNames(workflow, 'reader')).toEqual(['writer']);
    expect(dependencyNames(workflow, 'writer')).toEqual([]);
  });

  it('declares files and user_data used through ${...} references in commands', () => {
    const workflow = load(`name: w
files:
  - name: raw
    path: /data/raw.csv
  - name: clean
    path: /data/clean.csv
user_data:
  - name: stats
jobs:
  - name: fetch
    command: curl -o \${files.output.raw} http://x
  - name: clean
    command: clean \${files.input.raw} > \${files.output.clean}; store \${user_data.output.stats}
  - name: report
    command: report \${files.input.clean} --stats \${user_data.input.stats} --home \${HOME}
`);
    expect(workflow.jobs.map((j) => j.command)).toEqual([
      'curl -o /data/raw.csv http://x',
      'clean /data/raw.csv > /data/clean.csv; store null',
      'report /data/clean.csv --stats null --home ${HOME}',
    ]);
    expect(workflow.jobs[1]).toMatchObject({ inputFiles: ['raw'], outputFiles: ['clean'], outputUserData: ['stats'] });
    expect(workflow.jobs[2]).toMatchObject({ inputFiles: ['clean'], inputUserData: ['stats'] });
    expect(dependencyNames(workflow, 'clean')).toEqual(['fetch']);
    expect(dependencyNames(workflow, 'report')).toEqual(['clean']);
  });

  it('refuses ${...} references to unknown or malformed names', () => {
    const base = 'name: w\nfiles:\n  - name: raw\n    path: /r\njobs:\n  - name: a\n';
    expectRefusal(
      `${base}    command: cat \${files.input.rwa}\n`,
      'SPEC_UNKNOWN_REFERENCE',
      'spec.yaml:7: jobs[0].command: unknown file "rwa" (defined: "raw") in ${files.input.rwa}',
    );
    expectRefusal(
      `${base}    command: cat \${files.raw}\n`,
      'SPEC_INVALID',
      'spec.yaml:7: jobs[0].command: ${files.raw} is not a reference: write ${files.input.NAME} or ${files.output.NAME}',
    );
    expectRefusal(
      `${base}    command: cat \${user_data.input.u}\n`,
      'SPEC_UNKNOWN_REFERENCE',
      'spec.yaml:7: jobs[0].command: unknown user_data "u" (none are defined) in ${user_data.input.u}',
    );
  });

  it('refuses a file or user_data entry written by two jobs', () => {
    expectRefusal(
      `name: w
files:
  - name: out
    path: /out
jobs:
  - name: a
    command: x
    output_files: [out]
  - name: b
    command: x
    output_files: [out]
`,
      'SPEC_INVALID',
      'spec.yaml:11: jobs[1].output_files[0]: file "out" is written by two jobs: "a" (jobs[0] (line 6)) and "b"',
    );
    expectRefusal(
      `name: w
user_data:
  - name: u
jobs:
  - name: a
    command: x
    output_user_data: [u]
  - name: b
    command: store \${user_data.output.u}
`,
      'SPEC_INVALID',
      'spec.yaml:9: jobs[1].command: user_data "u" is written by two jobs: "a" (jobs[0] (line 5)) and "b"',
    );
  });

  it('lets a job read and write the same file without waiting for itself', () => {
    const workflow = load(`name: w
files:
  - name: db
    path: /db
jobs:
  - name: update
    command: x
    input_files: [db]
    output_files: [db]
`);
    expect(workflow.jobs[0]?.dependsOn).toEqual([]);
  });
});

describe('cycles', () => {
  it('names the jobs of a cycle in order', () => {
    const error = expectRefusal(
      `name: w
jobs:
  - name: a
    command: x
    depends_on: [b]
  - name: b
    command: x
    depends_on: [c]
  - name: c
    command: x
    depends_on: [a]
  - name: d
    command: x
    depends_on: [a]
`,
      'SPEC_CYCLE',
      'spec.yaml:3: jobs[0]: dependency cycle: a -> b -> c -> a',
    );
    expect(error.details).toEqual({ path: 'jobs[0]', line: 3 });
  });

  it('refuses a job that depends on itself', () => {
    expectRefusal(
      'name: w\njobs:\n  - name: a\n    command: x\n    depends_on: [a]\n',
      'SPEC_CYCLE',
      'spec.yaml:3: jobs[0]: dependency cycle: a -> a',
    );
    expectRefusal(
      'name: w\njobs:\n  - name: stage_all\n    command: x\n    depends_on_regexes: ["stage_.*"]\n',
      'SPEC_CYCLE',
      'spec.yaml:3: jobs[0]: dependency cycle: stage_all -> stage_all',
    );
  });

  it('finds cycles made by files and user_data', () => {
    expectRefusal(
      `name: w
files:
  - name: x
    path: /x
  - name: y
    path: /y
jobs:
  - name: ok
    command: x
  - name: p
    command: x
    input_files: [y]
    output_files: [x]
  - name: q
    command: x
    input_files: [x]
    output_files: [y]
`,
      'SPEC_CYCLE',
      'spec.yaml:10: jobs[1]: dependency cycle: p -> q -> p',
    );
  });

  it('finds a cycle through 100k jobs without recursion', () => {
    const error = refusal(`name: w
jobs:
  - name: job_{i}
    command: x
    depends_on: ["job_{next}"]
    parameters:
      i: "0:99998"
      next: "1:99999"
    parameter_mode: zip
  - name: job_99999
    command: x
    depends_on: [job_0]
`);
    expect(error.code).toBe('SPEC_CYCLE');
    expect(error.message).toMatch(
      /^spec\.yaml:3: jobs\[0\]: dependency cycle: job_0 -> job_1 -> .* -> job_99999 -> job_0$/,
    );
    expect(error.message).toContain('... (99985 more)');
  });
});

describe('regexes', () => {
  const trainJobs = `name: w
jobs:
  - name: train_{i}
    command: x
    parameters: {i: "[1, 2, 10]"}
`;

  it('matches whole names only', () => {
    const workflow = load(`${trainJobs}  - name: collect
    command: x
    depends_on_regexes: ["train_[0-9]"]
`);
    expect(dependencyNames(workflow, 'collect')).toEqual(['train_1', 'train_2']);
    const prefix = load(`${trainJobs}  - name: collect
    command: x
    depends_on_regexes: ["train_1"]
`);
    expect(dependencyNames(prefix, 'collect')).toEqual(['train_1']);
  });

  it('accepts regexes that anchor themselves', () => {
    const workflow = load(`${trainJobs}  - name: collect
    command: x
    depends_on_regexes: ["^train_1.*$"]
`);
    expect(dependencyNames(workflow, 'collect')).toEqual(['train_1', 'train_10']);
  });

  it('refuses an invalid regex, naming it', () => {
    expectRefusal(
      `${trainJobs}  - name: collect\n    command: x\n    depends_on_regexes: ["train_(1"]\n`,
      'SPEC_BAD_REGEX',
      'spec.yaml:8: jobs[1].depends_on_regexes[0]: invalid regex "train_(1": missing closing )',
    );
    expectRefusal(
      `${trainJobs}  - name: collect\n    command: x\n    depends_on_regexes: ["(a+)\\\\1"]\n`,
      'SPEC_BAD_REGEX',
      refusal(`${trainJobs}  - name: collect\n    command: x\n    depends_on_regexes: ["(a+)\\\\1"]\n`).message,
    );
  });

  it('refuses a regex that matches nothing', () => {
    expectRefusal(
      `${trainJobs}  - name: collect\n    command: x\n    depends_on_regexes: ["train_3"]\n`,
      'SPEC_REGEX_NO_MATCH',
      'spec.yaml:8: jobs[1].depends_on_regexes[0]: regex "train_3" matches no job name (it must match a whole name)',
    );
    expectRefusal(
      'name: w\nfiles:\n  - name: f\n    path: p\njobs:\n  - name: a\n    command: x\n    input_file_regexes: ["g.*"]\n',
      'SPEC_REGEX_NO_MATCH',
      'spec.yaml:8: jobs[0].input_file_regexes[0]: regex "g.*" matches no file name (it must match a whole name)',
    );
  });

  it('runs in linear time on patterns that hang backtracking engines', () => {
    const evil = `name: w
jobs:
  - name: ${'a'.repeat(500)}
    command: x
  - name: b
    command: x
    depends_on_regexes: ["(a+)+$"]
`;
    // A backtracking engine would not come back from this; RE2 answers at once.
    expect(dependencyNames(load(evil), 'b')).toHaveLength(1);
  });

  it('resolves many distinct per-instance regexes', () => {
    const workflow = load(`name: w
jobs:
  - name: run_{i}_{j}
    command: x
    parameters: {i: "1:30", j: "1:3"}
  - name: check_{i}
    command: x
    depends_on_regexes: ["run_{i}_[12]"]
    parameters: {i: "1:30"}
`);
    expect(dependencyNames(workflow, 'check_1')).toEqual(['run_1_1', 'run_1_2']);
    expect(dependencyNames(workflow, 'check_30')).toEqual(['run_30_1', 'run_30_2']);
    expect(dependencyNames(workflow, 'check_3')).toEqual(['run_3_1', 'run_3_2']);
  });

  it('escapes parameter values substituted into regexes', () => {
    const workflow = load(`name: w
jobs:
  - name: v1.0_run
    command: x
  - name: v1x0_run
    command: x
  - name: check_{v}
    command: x
    depends_on_regexes: ["v{v}_.*"]
    parameters: {v: "['1.0']"}
`);
    expect(dependencyNames(workflow, 'check_1.0')).toEqual(['v1.0_run']);
  });
});

// How fast big specs load is measured by bench/spec-load.bench.mjs, not here.
describe('size of specs', () => {
  it('loads 100k jobs with 100k dependencies from JSON', () => {
    const text = JSON.stringify({
      name: 'big',
      jobs: Array.from({ length: 100_000 }, (_, i) => ({
        name: `job_${i}`,
        command: `echo ${i}`,
        ...(i > 0 && { depends_on: [`job_${i - 1}`] }),
      })),
    });
    const workflow = load(text, 'json');
    expect(workflow.jobs).toHaveLength(100_000);
    expect(workflow.jobs[99_999]?.dependsOn).toEqual([99_998]);
  }, 180_000);

  it('loads parameterized jobs with per-instance dependencies and a fan-in regex', () => {
    const workflow = load(`name: big
jobs:
  - name: prep_{i}
    command: prep {i}
    parameters: {i: "1:5000"}
  - name: work_{i}
    command: work {i}
    depends_on: ["prep_{i}"]
    depends_on_regexes: ["prep_{i}"]
    parameters: {i: "1:5000"}
  - name: done
    command: x
    depends_on_regexes: ["work_.*"]
`);
    expect(jobNames(workflow)).toHaveLength(10_001);
    expect(dependencyNames(workflow, 'work_7')).toEqual(['prep_7']);
    expect(workflow.jobs[10_000]?.dependsOn).toHaveLength(5_000);
  });
});
