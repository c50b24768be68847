import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadSpecFile, loadSpecText, type ResolvedWorkflow } from '@sluice/core/spec';
import { describe, expect, it } from 'vitest';
import { expectRefusal } from './spec-test-helpers.js';

const fixture = (name: string) => join(import.meta.dirname, 'fixtures', name);
const dir = mkdtempSync(join(tmpdir(), 'sluice-formats-'));
const write = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};

describe('one workflow in four formats', () => {
  it('resolves to the same workflow from YAML, JSON, JSON5 and KDL', async () => {
    const [yaml, json, json5, kdl] = await Promise.all(
      ['pipeline.yaml', 'pipeline.json', 'pipeline.json5', 'pipeline.kdl'].map((f) => loadSpecFile(fixture(f))),
    );
    expect(json).toEqual(yaml);
    expect(json5).toEqual(yaml);
    expect(kdl).toEqual(yaml);
    // And it is the workflow the fixture means, not four copies of one mistake.
    const workflow = yaml as ResolvedWorkflow;
    expect(workflow.metadata).toEqual({ team: 'ml', version: 2 });
    expect(workflow.jobs.map((j) => [j.name, j.priority, j.failureHandler, j.dependsOn])).toEqual([
      ['download', 7, null, []],
      ['train_1', 0, 'retry', [0]],
      ['train_2', 0, 'retry', [0]],
      ['report', 0, null, [0, 1, 2]],
    ]);
    expect(workflow.jobs[1]?.command).toBe(`train --seed 1 --config '{"lr":0.1,"layers":[1,2]}'`);
    expect(workflow.userData).toEqual([{ name: 'config', data: { lr: 0.1, layers: [1, 2] }, isEphemeral: true }]);
    expect(workflow.failureHandlers).toEqual([
      {
        name: 'retry',
        rules: [
          { exitCodes: [10, 11], recoveryScript: 'bash fix.sh', maxRetries: 2 },
          { exitCodes: null, recoveryScript: null, maxRetries: 3 },
        ],
      },
    ]);
    expect(workflow.resourceMonitor).toEqual({
      enabled: true,
      granularity: 'time_series',
      sampleIntervalSeconds: 10,
      generatePlots: false,
    });
    expect(workflow.resourceRequirements.map((r) => [r.name, r.runtime, r.runtimeSeconds])).toEqual([
      ['small', 'PT30M', 1800],
      ['gpu', 'PT1H', 3600],
      ['default', 'P0DT1M', 60],
    ]);
    expect(workflow.actions.map((a) => [a.triggerType, a.jobs, a.commands, a.numAllocations])).toEqual([
      ['on_workflow_start', [], ['mkdir -p out', 'date > out/start'], null],
      ['on_jobs_ready', [1, 2, 3], null, 2],
    ]);
  });
});

describe('choosing the format', () => {
  it('reads .json5 as JSON5 and .kdl as KDL', async () => {
    const json5 = write('w.json5', "// comment\n{name: 'w', jobs: [{name: 'a', command: 'x',},],}\n");
    expect((await loadSpecFile(json5)).jobs[0]?.name).toBe('a');
    const kdl = write('w.kdl', 'name "w"\njob "a" { command "x"; }\n');
    expect((await loadSpecFile(kdl)).jobs[0]?.name).toBe('a');
  });

  it('names the format it tried when a file is not in it', async () => {
    const yamlInKdl = write('yaml.kdl', 'name: w\njobs:\n  - name: a\n    command: x\n');
    await expect(loadSpecFile(yamlInKdl)).rejects.toMatchObject({
      code: 'SPEC_SYNTAX',
      message: expect.stringMatching(new RegExp(`^${yamlInKdl}:1: invalid KDL: `)),
    });
    const kdlInYaml = write('kdl.yaml', 'name "w"\njob "a" {\n  command "x"\n}\n');
    await expect(loadSpecFile(kdlInYaml)).rejects.toMatchObject({
      message: expect.stringMatching(new RegExp(`^${kdlInYaml}(:\\d+)?: (invalid YAML|expected a mapping)`)),
    });
    const yamlInJson5 = write('yaml.json5', 'name: w\njobs: []\n');
    await expect(loadSpecFile(yamlInJson5)).rejects.toMatchObject({
      code: 'SPEC_SYNTAX',
      message: expect.stringMatching(new RegExp(`^${yamlInJson5}:1: invalid JSON5: `)),
    });
  });

  it('reads a file without a known extension in whatever format it is in, KDL included', async () => {
    expect((await loadSpecFile(write('spec.conf', 'name "w"\njob "a" { command "x"; }\n'))).name).toBe('w');
    expect((await loadSpecFile(write('spec.txt', "{name: 'w', /* c */ jobs: [{name: 'a', command: 'x'}]}"))).name).toBe(
      'w',
    );
    await expect(loadSpecFile(write('broken.txt', '{"name": "w",'))).rejects.toMatchObject({
      code: 'SPEC_SYNTAX',
      message: expect.stringContaining('invalid JSON5'),
    });
  });
});

describe('JSON5 lines', () => {
  it('names the line of a syntax error', () => {
    expectRefusal(
      '{\n  name: "w",\n  jobs: [\n    {name: , command: "x"},\n  ],\n}',
      'SPEC_SYNTAX',
      "spec.json5:4: invalid JSON5: invalid character ','",
      'json5',
    );
  });

  it('names the line of a key or value the schema refuses', () => {
    const text =
      "// top\n{\n  name: 'w',\n  jobs: [\n    {name: 'a', command: 'x'},\n    {\n      name: 'b',\n      'comand': 'y',\n    },\n  ],\n}\n";
    expectRefusal(
      text,
      'SPEC_INVALID',
      'spec.json5:8: jobs[1].comand: unknown key "comand" (did you mean "command"?)',
      'json5',
    );
    expectRefusal(
      "{name: 'w', jobs: [\n{name: 'a', command: 'x',\n  resource_requirements: 'big'}]}",
      'SPEC_UNKNOWN_REFERENCE',
      'spec.json5:3: jobs[0].resource_requirements: unknown resource_requirements "big" (none are defined)',
      'json5',
    );
  });
});

describe('text given directly', () => {
  it('loads every format from text', () => {
    const kdl = loadSpecText('name "w"\njob "a" { command "x"; }\n', { format: 'kdl', source: 'api' });
    expect(kdl.jobs[0]?.command).toBe('x');
    expect(() => loadSpecText('name "w"\njob { command "x"; }', { format: 'kdl', source: 'api' })).toThrow(
      /^api:2: jobs\[0\]: "job" needs its name as the first argument/,
    );
  });
});
