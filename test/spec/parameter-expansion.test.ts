import { describe, expect, it } from 'vitest';
import { dependencyNames, expectRefusal, jobNames, load } from './spec-test-helpers.js';

/** A spec with one job expanded over the given parameters (written as YAML flow mapping entries). */
const oneJob = (name: string, parameters: string, extra = '') =>
  `name: w\njobs:\n  - name: ${name}\n    command: run\n    parameters: {${parameters}}\n${extra}`;

describe('parameter values', () => {
  it('expands an inclusive range', () => {
    expect(jobNames(load(oneJob('j_{i}', 'i: "1:5"')))).toEqual(['j_1', 'j_2', 'j_3', 'j_4', 'j_5']);
  });

  it('expands a range with a step, inclusive of the end', () => {
    expect(jobNames(load(oneJob('j_{i}', 'i: "0:100:25"')))).toEqual(['j_0', 'j_25', 'j_50', 'j_75', 'j_100']);
    expect(jobNames(load(oneJob('j_{i}', 'i: "0:10:4"')))).toEqual(['j_0', 'j_4', 'j_8']);
  });

  it('counts down with a negative step', () => {
    expect(jobNames(load(oneJob('j_{i}', 'i: "3:1:-1"')))).toEqual(['j_3', 'j_2', 'j_1']);
  });

  it('expands float ranges without float noise', () => {
    expect(jobNames(load(oneJob('j_{x}', 'x: "0:0.3:0.1"')))).toEqual(['j_0', 'j_0.1', 'j_0.2', 'j_0.3']);
  });

  it('expands lists of numbers and of quoted strings', () => {
    expect(jobNames(load(oneJob('j_{n}', 'n: "[1,5,10]"')))).toEqual(['j_1', 'j_5', 'j_10']);
    expect(jobNames(load(oneJob('j_{s}', `s: "['a','b c', \\"d\\"]"`)))).toEqual(['j_a', 'j_b c', 'j_d']);
    expect(jobNames(load(oneJob('j_{s}', 's: "[train, test]"')))).toEqual(['j_train', 'j_test']);
  });

  it('expands YAML lists and single plain values', () => {
    expect(jobNames(load(oneJob('j_{s}', 's: [x, 2, "y"]')))).toEqual(['j_x', 'j_2', 'j_y']);
    expect(jobNames(load(oneJob('j_{s}', 's: adam')))).toEqual(['j_adam']);
    expect(jobNames(load(oneJob('j_{s}', 's: 7')))).toEqual(['j_7']);
  });

  it('accepts a range wrapped in braces, as torc does', () => {
    expect(jobNames(load(oneJob('j_{i}', 'i: "{1:3}"')))).toEqual(['j_1', 'j_2', 'j_3']);
  });

  it('refuses values that are not a range, a list or a value', () => {
    expectRefusal(
      oneJob('j_{i}', 'i: "1:abc"'),
      'SPEC_BAD_PARAMETER',
      'spec.yaml:5: jobs[0].parameters.i: invalid range "1:abc": expected "start:end" or "start:end:step" with numbers',
    );
    expectRefusal(
      oneJob('j_{i}', 'i: "1:10:0"'),
      'SPEC_BAD_PARAMETER',
      'spec.yaml:5: jobs[0].parameters.i: invalid range "1:10:0": the step is 0',
    );
    expectRefusal(
      oneJob('j_{i}', 'i: "10:1"'),
      'SPEC_BAD_PARAMETER',
      'spec.yaml:5: jobs[0].parameters.i: range "10:1" is empty: a range that counts down needs a negative step, e.g. "10:1:-1"',
    );
    expectRefusal(
      oneJob('j_{i}', 'i: "[1,,2]"'),
      'SPEC_BAD_PARAMETER',
      'spec.yaml:5: jobs[0].parameters.i: invalid list "[1,,2]": it has an empty item',
    );
    expectRefusal(
      oneJob('j_{i}', 'i: "[]"'),
      'SPEC_BAD_PARAMETER',
      'spec.yaml:5: jobs[0].parameters.i: invalid list "[]": it has no values',
    );
    expectRefusal(
      oneJob('j_{i}', 'i: "1:100000000"'),
      'SPEC_BAD_PARAMETER',
      'spec.yaml:5: jobs[0].parameters.i: range "1:100000000" has 100000000 values, more than 10000000',
    );
    expectRefusal(
      oneJob('j_{i}', 'i: {a: 1}'),
      'SPEC_INVALID',
      `spec.yaml:5: jobs[0].parameters.i: expected a range like "1:10", a list like "[1,2]" or "['a','b']", a YAML list or a single value, got a mapping`,
    );
    expectRefusal(
      oneJob('j', '"bad-name": "1:2"'),
      'SPEC_INVALID',
      'spec.yaml:5: jobs[0].parameters.bad-name: a parameter name must be letters, digits and _, not starting with a digit',
    );
  });
});

describe('templates', () => {
  it('formats values like Python format specs', () => {
    const workflow = load(`name: w
jobs:
  - name: j_{i:03d}_{x:.4f}_{y:5.2f}_{s}_{s:>4}_{i:x}_{x:e}
    command: run
    parameters:
      i: "[7, 255]"
      x: "[0.5]"
      y: "[3.14159]"
      s: "['ab']"
`);
    expect(jobNames(workflow)).toEqual([
      'j_007_0.5000_ 3.14_ab_  ab_7_5.000000e-01',
      'j_255_0.5000_ 3.14_ab_  ab_ff_5.000000e-01',
    ]);
  });

  it('pads and signs numbers', () => {
    const workflow = load(oneJob('j_{n:+d}_{n:<4d}|_{n:^5}|_{n:05.1f}', 'n: "[-3, 4]"'));
    expect(jobNames(workflow)).toEqual(['j_-3_-3  |_ -3  |_-03.0', 'j_+4_4   |_  4  |_004.0']);
  });

  it('substitutes into every string of a job', () => {
    const workflow = load(`name: w
resource_requirements:
  - name: rr_small
  - name: rr_big
slurm_schedulers:
  - name: sched_small
  - name: sched_big
files:
  - name: in_{size}
    path: /data/{size}.in
    parameters: {size: "['small','big']"}
  - name: out_{size}
    path: /data/{size}.out
    parameters: {size: "['small','big']"}
user_data:
  - name: ud_{size}
    parameters: {size: "['small','big']"}
  - name: result_{size}
    parameters: {size: "['small','big']"}
jobs:
  - name: make_{size}
    command: make
    output_files: ["in_{size}"]
    parameters: {size: "['small','big']"}
  - name: run_{size}
    command: run --size {size} > \${files.output.out_{size}}
    invocation_script: module load {size}
    resource_requirements: rr_{size}
    scheduler: sched_{size}
    depends_on: ["make_{size}"]
    depends_on_regexes: ["make_{size}"]
    input_files: ["in_{size}"]
    input_file_regexes: ["in_{size}"]
    input_user_data: ["ud_{size}"]
    input_user_data_regexes: ["ud_{size}"]
    output_user_data: ["result_{size}"]
    parameters: {size: "['small','big']"}
  - name: collect_{size}
    command: collect
    output_file_regexes: []
    output_user_data_regexes: ["ud_{size}"]
    parameters: {size: "['small','big']"}
`);
    const run = workflow.jobs.find((j) => j.name === 'run_big');
    expect(run).toEqual({
      name: 'run_big',
      command: 'run --size big > /data/big.out',
      invocationScript: 'module load big',
      resourceRequirements: 'rr_big',
      scheduler: 'sched_big',
      cancelOnBlockingJobFailure: true,
      supportsTermination: false,
      priority: 0,
      failureHandler: null,
      dependsOn: [1, 5],
      inputFiles: ['in_big'],
      outputFiles: ['out_big'],
      inputUserData: ['ud_big'],
      outputUserData: ['result_big'],
    });
    expect(dependencyNames(workflow, 'run_big')).toEqual(['make_big', 'collect_big']);
    expect(workflow.files).toEqual([
      { name: 'in_small', path: '/data/small.in' },
      { name: 'in_big', path: '/data/big.in' },
      { name: 'out_small', path: '/data/small.out' },
      { name: 'out_big', path: '/data/big.out' },
    ]);
    expect(workflow.userData.map((u) => u.name)).toEqual(['ud_small', 'ud_big', 'result_small', 'result_big']);
  });

  it('leaves the command of a job without parameters as written', () => {
    const workflow = load(`name: w
jobs:
  - name: a
    command: awk '{print}' f && echo \${HOME} {{.Name}} {x}
`);
    expect(workflow.jobs[0]?.command).toBe("awk '{print}' f && echo ${HOME} {{.Name}} {x}");
  });

  it('never takes doubled braces or shell variables for placeholders', () => {
    const workflow = load(oneJob('j_{i}', 'i: "1:1"', '    invocation_script: echo {{i}} ${i} {i}\n'));
    expect(workflow.jobs[0]?.invocationScript).toBe('echo {{i}} ${i} 1');
  });

  it('refuses a placeholder a job without parameters cannot fill, naming it', () => {
    expectRefusal(
      `name: w
jobs:
  - name: prep_{i}
    command: x
    parameters: {i: "1:2"}
  - name: after
    command: x
    depends_on: ["prep_{i}"]
`,
      'SPEC_UNKNOWN_REFERENCE',
      'spec.yaml:8: jobs[1].depends_on[0]: unknown parameter "i" in "prep_{i}" (no parameters are defined here)',
    );
    expectRefusal(
      'name: w\njobs:\n  - name: job_{i}\n    command: x\n',
      'SPEC_UNKNOWN_REFERENCE',
      'spec.yaml:3: jobs[0].name: unknown parameter "i" in "job_{i}" (no parameters are defined here)',
    );
  });

  it('refuses an unknown placeholder, naming it and the parameters there are', () => {
    expectRefusal(
      oneJob('j_{i}', 'i: "1:2", k: "[1]"', '    depends_on: ["prep_{j}"]\n'),
      'SPEC_UNKNOWN_REFERENCE',
      'spec.yaml:6: jobs[0].depends_on[0]: unknown parameter "j" in "prep_{j}" (parameters here: "i", "k")',
    );
    expectRefusal(
      'name: w\njobs:\n  - name: a\n    command: x\nfiles:\n  - name: f_{i}\n    path: /p/{n}\n    parameters: {i: "1:2"}\n',
      'SPEC_UNKNOWN_REFERENCE',
      'spec.yaml:7: files[0].path: unknown parameter "n" in "/p/{n}" (parameters here: "i")',
    );
    expectRefusal(
      oneJob('j_{i}', 'i: "1:2"', '    invocation_script: run {lr}\n'),
      'SPEC_UNKNOWN_REFERENCE',
      'spec.yaml:6: jobs[0].invocation_script: unknown parameter "lr" in "run {lr}" (parameters here: "i")',
    );
  });

  it('refuses bad format specs and values they cannot format', () => {
    expectRefusal(
      oneJob('j_{i:q}', 'i: "1:2"'),
      'SPEC_BAD_PARAMETER',
      'spec.yaml:3: jobs[0].name: invalid format "q" in {i:q}: expected e.g. {i:03d}, {x:.4f}, {x:5.2f} or {s:>8}',
    );
    expectRefusal(
      oneJob('j_{s:03d}', `s: "['a']"`),
      'SPEC_BAD_PARAMETER',
      'spec.yaml:3: jobs[0].name: cannot format "a" with {s:03d}: "d" needs a number',
    );
    expectRefusal(
      oneJob('j_{x:d}', 'x: "[1.5]"'),
      'SPEC_BAD_PARAMETER',
      'spec.yaml:3: jobs[0].name: cannot format 1.5 with {x:d}: "d" needs an integer',
    );
  });
});

describe('combining parameters', () => {
  it('takes the cartesian product by default, first parameter slowest', () => {
    expect(jobNames(load(oneJob('j_{a}_{b}', `a: "1:2", b: "['x','y','z']"`)))).toEqual([
      'j_1_x',
      'j_1_y',
      'j_1_z',
      'j_2_x',
      'j_2_y',
      'j_2_z',
    ]);
  });

  it('pairs values element by element in zip mode', () => {
    const spec = oneJob('j_{a}_{b}', `a: "1:3", b: "['x','y','z']"`, '    parameter_mode: zip\n');
    expect(jobNames(load(spec))).toEqual(['j_1_x', 'j_2_y', 'j_3_z']);
  });

  it('refuses zip parameters of different lengths, naming them', () => {
    expectRefusal(
      oneJob('j_{a}_{b}', `a: "1:3", b: "['x','y']"`, '    parameter_mode: zip\n'),
      'SPEC_BAD_PARAMETER',
      'spec.yaml:5: jobs[0].parameters: parameter_mode zip needs parameters with equal numbers of values: "a" has 3, "b" has 2',
    );
  });

  it('refuses a product too large to create', () => {
    expectRefusal(
      oneJob('j_{a}_{b}', 'a: "1:10000", b: "1:10000"'),
      'SPEC_BAD_PARAMETER',
      'spec.yaml:5: jobs[0].parameters: the parameters give 100000000 combinations, more than 10000000',
    );
  });
});

describe('workflow parameters', () => {
  const shared = `name: w
parameters:
  lr: "[0.001, 0.01]"
  opt: "['adam','sgd']"
`;

  it('pulls workflow parameters into jobs and files with use_parameters', () => {
    const workflow = load(`${shared}files:
  - name: model_{lr}_{opt}
    path: /m/{lr}_{opt}.pt
    use_parameters: [lr, opt]
jobs:
  - name: train_{lr:.3f}_{opt}
    command: train --lr {lr} --opt {opt} > \${files.output.model_{lr}_{opt}}
    use_parameters: [lr, opt]
  - name: best
    command: pick
    input_file_regexes: ["model_.*"]
`);
    expect(jobNames(workflow)).toEqual([
      'train_0.001_adam',
      'train_0.001_sgd',
      'train_0.010_adam',
      'train_0.010_sgd',
      'best',
    ]);
    expect(workflow.files.map((f) => f.path)).toEqual([
      '/m/0.001_adam.pt',
      '/m/0.001_sgd.pt',
      '/m/0.01_adam.pt',
      '/m/0.01_sgd.pt',
    ]);
    expect(workflow.jobs[3]?.command).toBe('train --lr 0.01 --opt sgd > /m/0.01_sgd.pt');
    expect(workflow.jobs[4]?.dependsOn).toEqual([0, 1, 2, 3]);
  });

  it("combines a job's own parameters with the ones it pulls in", () => {
    const workflow = load(`${shared}jobs:
  - name: train_{lr}_{seed}
    command: train
    use_parameters: [lr]
    parameters:
      seed: "1:2"
`);
    expect(jobNames(workflow)).toEqual(['train_0.001_1', 'train_0.001_2', 'train_0.01_1', 'train_0.01_2']);
  });

  it('does not give workflow parameters to jobs that do not ask for them', () => {
    expectRefusal(
      `${shared}jobs:\n  - name: train_{lr}\n    command: x\n`,
      'SPEC_UNKNOWN_REFERENCE',
      'spec.yaml:6: jobs[0].name: unknown parameter "lr" in "train_{lr}" (no parameters are defined here)',
    );
  });

  it('refuses use_parameters naming a parameter the workflow does not define', () => {
    expectRefusal(
      `${shared}jobs:\n  - name: train_{lr}\n    command: x\n    use_parameters: [lr, momentum]\n`,
      'SPEC_UNKNOWN_REFERENCE',
      'spec.yaml:8: jobs[0].use_parameters[1]: unknown workflow parameter "momentum" (workflow parameters: "lr", "opt")',
    );
  });

  it('refuses a parameter both defined by a job and pulled in', () => {
    expectRefusal(
      `${shared}jobs:\n  - name: train_{lr}\n    command: x\n    use_parameters: [lr]\n    parameters:\n      lr: "[1]"\n`,
      'SPEC_BAD_PARAMETER',
      'spec.yaml:10: jobs[0].parameters.lr: parameter "lr" is also pulled in by use_parameters; define it in one place',
    );
  });

  it('validates workflow parameters where they are defined', () => {
    expectRefusal(
      'name: w\nparameters:\n  i: "5:1"\njobs:\n  - name: a\n    command: x\n',
      'SPEC_BAD_PARAMETER',
      'spec.yaml:3: parameters.i: range "5:1" is empty: a range that counts down needs a negative step, e.g. "10:1:-1"',
    );
  });
});

describe('dependencies between parameterized jobs', () => {
  it('resolves a parameterized depends_on per instance', () => {
    const workflow = load(`name: w
jobs:
  - name: prep_{i}
    command: x
    parameters: {i: "1:3"}
  - name: train_{i}
    command: x
    depends_on: ["prep_{i}"]
    parameters: {i: "1:3"}
`);
    expect(dependencyNames(workflow, 'train_1')).toEqual(['prep_1']);
    expect(dependencyNames(workflow, 'train_3')).toEqual(['prep_3']);
  });

  it('makes a job whose name does not use a parameter depend on every expansion', () => {
    const workflow = load(`name: w
jobs:
  - name: train_{i}
    command: x
    parameters: {i: "1:3"}
  - name: aggregate
    command: x
    depends_on: ["train_{i}"]
    parameters: {i: "1:3"}
`);
    expect(jobNames(workflow)).toEqual(['train_1', 'train_2', 'train_3', 'aggregate']);
    expect(dependencyNames(workflow, 'aggregate')).toEqual(['train_1', 'train_2', 'train_3']);
  });

  it('fans in only the parameters a name leaves out', () => {
    const workflow = load(`name: w
jobs:
  - name: analyze_{d}_{t}
    command: x
    parameters: {d: "['a','b']", t: "['x','y']"}
  - name: report_{d}
    command: report {d}
    depends_on: ["analyze_{d}_{t}"]
    parameters: {d: "['a','b']", t: "['x','y']"}
`);
    expect(jobNames(workflow).slice(4)).toEqual(['report_a', 'report_b']);
    expect(dependencyNames(workflow, 'report_b')).toEqual(['analyze_b_x', 'analyze_b_y']);
    expect(workflow.jobs[5]?.command).toBe('report b');
  });

  it('refuses a fanned-in job whose command varies with a parameter its name leaves out', () => {
    expectRefusal(
      `name: w
jobs:
  - name: aggregate
    command: sum {i}
    parameters: {i: "1:3"}
`,
      'SPEC_BAD_PARAMETER',
      'spec.yaml:4: jobs[0].command: uses parameter "i", which the job name "aggregate" does not; each job needs its own name, so put {i} in the name',
    );
  });

  it('names the template behind an unknown expanded name', () => {
    expectRefusal(
      `name: w
jobs:
  - name: prep_{i}
    command: x
    parameters: {i: "1:2"}
  - name: train_{i}
    command: x
    depends_on: ["prep_{i}"]
    parameters: {i: "1:3"}
`,
      'SPEC_UNKNOWN_REFERENCE',
      'spec.yaml:8: jobs[1].depends_on[0]: unknown job "prep_3" (from "prep_{i}")',
    );
  });
});
