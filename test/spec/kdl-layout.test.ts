import { describe, expect, it } from 'vitest';
import { dependencyNames, expectRefusal, load, refusal } from './spec-test-helpers.js';

const kdl = (text: string) => load(text, 'kdl');

describe('the KDL layout torc writes', () => {
  it('reads files with a path property, with path children, and with both and parameters', () => {
    const workflow = kdl(`name "w"
file "raw" path="/data/raw.csv"
file "cfg" {
    path "/etc/cfg"
}
file "out_{i}" path="out/{i}.txt" {
    parameters {
        i "1:2"
    }
}
file "s" path="/s.py" st_mtime=1640995200.0
job "a" { command "x"; }
`);
    expect(workflow.files).toEqual([
      { name: 'raw', path: '/data/raw.csv' },
      { name: 'cfg', path: '/etc/cfg' },
      { name: 'out_1', path: 'out/1.txt' },
      { name: 'out_2', path: 'out/2.txt' },
      { name: 's', path: '/s.py' },
    ]);
  });

  it('reads every job child, repeated list nodes and multi-argument nodes', () => {
    const workflow = kdl(`name "w"
parameters {
    lr "[0.1,0.2]"
    opt "['adam','sgd']"
}
resource_requirements "small" {
    num_cpus 2
    num_gpus 0
    num_nodes 1
    memory "2g"
    runtime "P0DT48H"
}
slurm_scheduler "s" {
    account "acct"
    partition "short"
    qos "normal"
    mem "8G"
    gres "gpu:1"
    tmp "10G"
    walltime "2-00:00:00"
    extra "--constraint=x"
    nodes 1
    ntasks_per_node 4
}
file "f_{lr}_{opt}" path="/f" {
    use_parameters "lr" "opt"
}
file "log" path="/log"
user_data "cfg" {
    is_ephemeral #false
    data "{\\"a\\": [1, 2]}"
}
job "prep" {
    command "prep"
    invocation_script "module load x"
    resource_requirements "small"
    scheduler "s"
    cancel_on_blocking_job_failure #false
    supports_termination #true
    priority 3
    output_user_data "cfg"
}
job "train_{lr}_{opt}" {
    command "train {lr} {opt}"
    use_parameters "lr" "opt"
    parameter_mode "product"
    depends_on "prep"
    input_user_data "cfg"
}
job "collect" {
    command "collect"
    depends_on_regexes "train_0\\\\.1_.*" "train_0\\\\.2_adam"
    input_file_regexes "f_.*"
    output_files "log"
}
`);
    expect(workflow.jobs.map((j) => j.name)).toEqual([
      'prep',
      'train_0.1_adam',
      'train_0.1_sgd',
      'train_0.2_adam',
      'train_0.2_sgd',
      'collect',
    ]);
    expect(workflow.jobs[0]).toMatchObject({
      invocationScript: 'module load x',
      resourceRequirements: 'small',
      scheduler: 's',
      cancelOnBlockingJobFailure: false,
      supportsTermination: true,
      priority: 3,
      outputUserData: ['cfg'],
    });
    // Both regexes of one node count: torc's parser would keep only the first.
    expect(dependencyNames(workflow, 'collect')).toEqual(['train_0.1_adam', 'train_0.1_sgd', 'train_0.2_adam']);
    expect(workflow.jobs[5]?.inputFiles).toHaveLength(4);
    expect(workflow.jobs[5]?.outputFiles).toEqual(['log']);
    expect(workflow.userData).toEqual([{ name: 'cfg', data: { a: [1, 2] }, isEphemeral: false }]);
    expect(workflow.resourceRequirements[0]).toMatchObject({ runtime: 'P0DT48H', runtimeSeconds: 172_800 });
    expect(workflow.slurmSchedulers[0]).toMatchObject({ ntasksPerNode: 4, extra: '--constraint=x', tmp: '10G' });
  });

  it('reads the legacy names torc examples still use', () => {
    const workflow = kdl(`name "w"
resource_requirements "r" { num_cpus 1; }
slurm_scheduler "s" { account "a"; }
file "f" path="/f"
job "a" {
    command "a"
    resource_requirements_name "r"
    scheduler_name "s"
    output_files "f"
}
job "b" {
    command "b"
    blocked_by_job "a"
    input_files "f"
}
job "c" {
    command "c"
    depends_on_job "a"
    depends_on_job "b"
}
action {
    trigger_type "on_workflow_start"
    action_type "schedule_nodes"
    scheduler_type "slurm"
    scheduler_name "s"
    num_allocations 1
    start_one_worker_per_node #true
}
action {
    trigger_type "on_jobs_complete"
    action_type "run_commands"
    job_name_regex "[ab]"
    command "echo done"
}
`);
    expect(workflow.jobs[0]).toMatchObject({ resourceRequirements: 'r', scheduler: 's' });
    expect(dependencyNames(workflow, 'b')).toEqual(['a']);
    expect(dependencyNames(workflow, 'c')).toEqual(['a', 'b']);
    expect(workflow.actions[0]).toMatchObject({ scheduler: 's', startOneWorkerPerNode: true, numAllocations: 1 });
    expect(workflow.actions[1]).toMatchObject({ jobs: [0, 1], commands: ['echo done'] });
  });

  it('reads actions with job, jobs, job_name_regexes and repeated command nodes', () => {
    const workflow = kdl(`name "w"
slurm_scheduler "s" { account "a"; }
job "prep_a" { command "x"; }
job "prep_b" { command "x"; }
job "work_a_1" { command "x"; }
action {
    trigger_type "on_jobs_ready"
    action_type "schedule_nodes"
    scheduler "s"
    scheduler_type "slurm"
    job "prep_a"
    job "prep_b"
    num_allocations 2
    max_parallel_jobs 4
    persistent #true
}
action {
    trigger_type "on_jobs_complete"
    action_type "run_commands"
    jobs "prep_a" "work_a_1"
    job_name_regexes "^work_a_\\\\d+$"
    command "echo one"
    command "echo two"
}
`);
    expect(workflow.actions.map((a) => [a.jobs, a.commands, a.persistent, a.maxParallelJobs])).toEqual([
      [[0, 1], null, true, 4],
      [[0, 2], ['echo one', 'echo two'], false, null],
    ]);
  });

  it('reads failure handlers, rules with several exit codes, and the flat and nested resource monitor', () => {
    const workflow = kdl(`name "w"
failure_handler "h" {
    rule {
        exit_codes 10 11 12
        recovery_script "examples/scripts/recovery_demo.sh"
        max_retries 3
    }
    rule {
        match_all_exit_codes #true
        max_retries 2
    }
}
resource_monitor {
    enabled #true
    granularity "time_series"
    sample_interval_seconds 2
    generate_plots #false
}
slurm_defaults {
    account "acct"
    mail-type "BEGIN,END,FAIL"
}
job "a" {
    command "x"
    failure_handler "h"
}
`);
    expect(workflow.failureHandlers).toEqual([
      {
        name: 'h',
        rules: [
          { exitCodes: [10, 11, 12], recoveryScript: 'examples/scripts/recovery_demo.sh', maxRetries: 3 },
          { exitCodes: null, recoveryScript: null, maxRetries: 2 },
        ],
      },
    ]);
    expect(workflow.resourceMonitor).toEqual({
      enabled: true,
      granularity: 'time_series',
      sampleIntervalSeconds: 2,
      generatePlots: false,
    });
    expect(workflow.slurmDefaults).toEqual({ account: 'acct', 'mail-type': 'BEGIN,END,FAIL' });
    expect(workflow.jobs[0]?.failureHandler).toBe('h');
  });

  it('reads KDL v1 text (bare booleans, r#"..."# raw strings) as torc once wrote it', () => {
    const workflow = kdl(`name "w"
job "a" {
    command r#"echo "quoted" \\n"#
    supports_termination true
}
`);
    expect(workflow.jobs[0]).toMatchObject({ command: 'echo "quoted" \\n', supportsTermination: true });
  });

  it('reads multi-line strings, slashdash comments and type annotations', () => {
    const workflow = kdl(`name "w"
/- job "skipped" { command "no"; }
job "a" {
    command """
        set -e
        echo hi
        """
    priority (i32)5
}
`);
    expect(workflow.jobs.map((j) => [j.name, j.command, j.priority])).toEqual([['a', 'set -e\necho hi', 5]]);
  });
});

describe('KDL errors name the line', () => {
  it('refuses unknown nodes with a suggestion, and torc features Sluice lacks by name', () => {
    expectRefusal(
      'name "w"\njob "a" {\n    comand "x"\n}\n',
      'SPEC_INVALID',
      'spec.kdl:3: jobs[0].comand: unknown key "comand" (did you mean "command"?)',
      'kdl',
    );
    expectRefusal(
      'name "w"\nvariables {\n    root "/x"\n}\njob "a" { command "x"; }\n',
      'SPEC_UNSUPPORTED_KEY',
      'spec.kdl:2: variables: key "variables" is not supported by Sluice',
      'kdl',
    );
    expectRefusal(
      'name "w"\njob "a" {\n    command "x"\n    label "windows"\n}\n',
      'SPEC_UNSUPPORTED_KEY',
      'spec.kdl:4: jobs[0].label: key "label" is not supported by Sluice',
      'kdl',
    );
  });

  it('names lines of values the schema and the resolver refuse', () => {
    expectRefusal(
      'name "w"\nresource_requirements "r" {\n    num_cpus "four"\n}\njob "a" { command "x"; }\n',
      'SPEC_INVALID',
      'spec.kdl:3: resource_requirements[0].num_cpus: expected a number, got "four"',
      'kdl',
    );
    expectRefusal(
      'name "w"\njob "a" {\n    command "x"\n    depends_on "b"\n    depends_on "c"\n}\njob "b" { command "x"; }\n',
      'SPEC_UNKNOWN_REFERENCE',
      'spec.kdl:5: jobs[0].depends_on[1]: unknown job "c"',
      'kdl',
    );
    expectRefusal(
      'name "w"\njob "a" {\n}\n',
      'SPEC_INVALID',
      'spec.kdl:2: jobs[0]: missing required key "command"',
      'kdl',
    );
  });

  it('refuses nodes that do not fit the layout', () => {
    expectRefusal(
      'name "w"\njob "a" {\n    command "x" "y"\n}\n',
      'SPEC_INVALID',
      'spec.kdl:3: jobs[0].command: "command" takes one value, got 2',
      'kdl',
    );
    expectRefusal(
      'name "w"\njob "a" {\n    command "x"\n    command "y"\n}\n',
      'SPEC_INVALID',
      'spec.kdl:4: jobs[0].command: "command" is given twice (first on line 3)',
      'kdl',
    );
    const badJson = refusal('name "w"\nuser_data "u" {\n    data "{not json"\n}\njob "a" { command "x"; }\n', 'kdl');
    expect(badJson.message).toMatch(/^spec\.kdl:3: user_data\[0\]\.data: expected JSON text \(torc's KDL layout/);
    expectRefusal(
      'name "w"\njob { command "x"; }\n',
      'SPEC_INVALID',
      'spec.kdl:2: jobs[0]: "job" needs its name as the first argument: job "NAME" { ... }',
      'kdl',
    );
  });

  it('names the line of a KDL syntax error, and says YAML looks like YAML', () => {
    expectRefusal(
      'name "w"\njob "a" {\n    command "x"\n',
      'SPEC_SYNTAX',
      'spec.kdl:4: invalid KDL: Invalid node children at end of input',
      'kdl',
    );
    expectRefusal(
      'name: w\n',
      'SPEC_SYNTAX',
      'spec.kdl:1: invalid KDL: node "name:" looks like YAML; KDL writes name "value"',
      'kdl',
    );
  });
});
