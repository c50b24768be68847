import { closeSync, ftruncateSync, mkdtempSync, openSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadSpecFile, MAX_SPEC_BYTES } from '@sluice/core/spec';
import { describe, expect, it } from 'vitest';
import { expectRefusal, load, refusal } from './spec-test-helpers.js';

const JOB = 'jobs:\n  - name: a\n    command: x\n';
const json = (spec: object) => JSON.stringify({ name: 'w', jobs: [{ name: 'a', command: 'x' }], ...spec });

describe('size limits', () => {
  it('refuses a spec file over 256 MiB before reading it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-limits-'));
    const path = join(dir, 'huge.yaml');
    writeFileSync(path, 'name: w\n');
    // A sparse file: its size is what counts, and it costs no disk.
    const fd = openSync(path, 'r+');
    ftruncateSync(fd, MAX_SPEC_BYTES + 1);
    closeSync(fd);
    await expect(loadSpecFile(path)).rejects.toMatchObject({
      code: 'SPEC_INVALID',
      message: `${path}: the workflow spec is 256.0 MiB of bytes, more than the 256 MiB a spec may have`,
    });
  });

  it('refuses more than 10 million jobs in all before expanding any', () => {
    const started = Date.now();
    expectRefusal(
      'name: w\njobs:\n  - name: a_{i}\n    command: x\n    parameters: {i: "1:6000000"}\n  - name: b_{i}\n    command: x\n    parameters: {i: "1:6000000"}\n',
      'SPEC_BAD_PARAMETER',
      'spec.yaml:6: jobs[1]: the spec expands to 12000000 jobs or more, more than 10000000',
    );
    // Refused from the counts, not after building 6 million jobs (which takes far longer).
    expect(Date.now() - started).toBeLessThan(60_000);
  });

  it('refuses names, regexes, paths and scripts that are too long, as written and once expanded', () => {
    expectRefusal(
      `name: w\njobs:\n  - name: ${'n'.repeat(513)}\n    command: x\n`,
      'SPEC_INVALID',
      'spec.yaml:3: jobs[0].name: expected at most 512 characters, got 513',
    );
    expectRefusal(
      `name: w\njobs:\n  - name: j_{v}\n    command: x\n    parameters: {v: "['${'v'.repeat(511)}']"}\n`,
      'SPEC_BAD_PARAMETER',
      `spec.yaml:3: jobs[0].name: job name "j_${'v'.repeat(75)}..." is 513 characters long, more than 512`,
    );
    expectRefusal(
      `name: w\n${JOB}  - name: b\n    command: x\n    depends_on_regexes: ["${'a'.repeat(4097)}"]\n`,
      'SPEC_INVALID',
      'spec.yaml:7: jobs[1].depends_on_regexes[0]: expected at most 4096 characters, got 4097',
    );
    expectRefusal(
      `name: w\nfiles:\n  - name: f\n    path: /${'p'.repeat(4096)}\n${JOB}`,
      'SPEC_INVALID',
      'spec.yaml:4: files[0].path: expected at most 4096 characters, got 4097',
    );
    expectRefusal(
      json({ jobs: [{ name: 'a', command: 'c'.repeat(1024 * 1024 + 1) }] }),
      'SPEC_INVALID',
      'spec.json:1: jobs[0].command: expected at most 1048576 characters, got 1048577',
      'json',
    );
    expectRefusal(
      json({
        user_data: [{ name: 'big', data: 'd'.repeat(1024 * 1024) }],
        jobs: [{ name: 'a', command: 'x ${user_data.input.big}' }],
      }),
      'SPEC_INVALID',
      'spec.json:1: jobs[0].command: job "a": command is 1048580 characters once expanded, more than 1048576',
      'json',
    );
  });
});

describe('integer limits', () => {
  const requirement = (key: string, value: string) =>
    `name: w\nresource_requirements:\n  - name: r\n    ${key}: ${value}\n${JOB}`;

  it('keeps every count within int4 and within reason', () => {
    for (const key of ['num_cpus', 'num_gpus', 'num_nodes']) {
      expectRefusal(
        requirement(key, '1048577'),
        'SPEC_INVALID',
        `spec.yaml:4: resource_requirements[0].${key}: expected a number <= 1048576, got 1048577`,
      );
    }
    expectRefusal(
      requirement('num_cpus', '99999999999999999999'),
      'SPEC_INVALID',
      'spec.yaml:4: resource_requirements[0].num_cpus: expected a number <= 1048576, got 100000000000000000000',
    );
    for (const key of ['nodes', 'ntasks_per_node']) {
      expectRefusal(
        `name: w\nslurm_schedulers:\n  - name: s\n    ${key}: 2147483648\n${JOB}`,
        'SPEC_INVALID',
        `spec.yaml:4: slurm_schedulers[0].${key}: expected a number <= 1048576, got 2147483648`,
      );
    }
    const action = (extra: string) =>
      `name: w\nslurm_schedulers:\n  - name: s\n${JOB}actions:\n  - trigger_type: on_workflow_start\n    action_type: schedule_nodes\n    scheduler: s\n    scheduler_type: slurm\n${extra}`;
    expectRefusal(
      action('    num_allocations: 10001\n'),
      'SPEC_INVALID',
      'spec.yaml:12: actions[0].num_allocations: expected a number <= 10000, got 10001',
    );
    expectRefusal(
      action('    num_allocations: 1\n    max_parallel_jobs: 1048577\n'),
      'SPEC_INVALID',
      'spec.yaml:13: actions[0].max_parallel_jobs: expected a number <= 1048576, got 1048577',
    );
    expectRefusal(
      `name: w\nfailure_handlers:\n  - name: h\n    rules: [{exit_codes: [1], max_retries: 10001}]\n${JOB}`,
      'SPEC_INVALID',
      'spec.yaml:4: failure_handlers[0].rules[0].max_retries: expected a number <= 10000, got 10001',
    );
  });

  it('keeps memory within int8 and runtimes whole seconds within about a century', () => {
    expectRefusal(
      requirement('memory', '9999999p'),
      'SPEC_INVALID',
      'spec.yaml:4: resource_requirements[0].memory: memory size "9999999p" is larger than 8 PiB (9007199254740991 bytes)',
    );
    expectRefusal(
      requirement('runtime', 'PT1.5S'),
      'SPEC_INVALID',
      'spec.yaml:4: resource_requirements[0].runtime: runtime "PT1.5S" is not a whole number of seconds (fractional seconds are not supported)',
    );
    expectRefusal(
      requirement('runtime', 'P36501D'),
      'SPEC_INVALID',
      'spec.yaml:4: resource_requirements[0].runtime: runtime "P36501D" is longer than 3153600000 seconds (about 100 years)',
    );
    expect(load(requirement('runtime', 'PT0.1H')).resourceRequirements[0]?.runtimeSeconds).toBe(360);
    expect(load(requirement('runtime', 'P36500D')).resourceRequirements[0]?.runtimeSeconds).toBe(3_153_600_000);
    expect(load(requirement('runtime', 'PT1.5M')).resourceRequirements[0]?.runtimeSeconds).toBe(90);
  });
});

describe('characters PostgreSQL cannot store', () => {
  it('refuses a NUL anywhere, naming the place', () => {
    const cases: [object, string][] = [
      [{ jobs: [{ name: 'a', command: 'echo \u0000' }] }, 'jobs[0].command'],
      [{ jobs: [{ name: 'a\u0000', command: 'x' }] }, 'jobs[0].name'],
      [{ files: [{ name: 'f', path: '/p\u0000' }] }, 'files[0].path'],
      [{ user_data: [{ name: 'u', data: { deep: ['ok', 'n\u0000'] } }] }, 'user_data[0].data.deep[1]'],
      [{ metadata: { note: '\u0000' } }, 'metadata.note'],
      [{ description: 'a\u0000b' }, 'description'],
      [{ parameters: { p: '[\u0000]' } }, 'parameters.p'],
    ];
    for (const [spec, place] of cases) {
      expectRefusal(
        json(spec),
        'SPEC_INVALID',
        `spec.json:1: ${place}: contains a NUL character, which PostgreSQL text cannot store`,
        'json',
      );
    }
    expectRefusal(
      json({ user_data: [{ name: 'u', data: { 'k\u0000': 1 } }] }),
      'SPEC_INVALID',
      'spec.json:1: user_data[0].data["k\\u0000"]: key contains a NUL character, which PostgreSQL text cannot store',
      'json',
    );
    expectRefusal(
      'name "w"\njob "a" {\n    command "x\\u{0}"\n}\n',
      'SPEC_INVALID',
      'spec.kdl:3: jobs[0].command: contains a NUL character, which PostgreSQL text cannot store',
      'kdl',
    );
  });

  it('refuses unpaired surrogates, which jsonb refuses', () => {
    expectRefusal(
      '{"name": "w", "jobs": [{"name": "a", "command": "x"}], "user_data": [{"name": "u", "data": "\\ud800"}]}',
      'SPEC_INVALID',
      'spec.json:1: user_data[0].data: contains an unpaired UTF-16 surrogate, which is not valid Unicode',
      'json',
    );
    expect(load(json({ description: 'emoji \u{1f600} ok' }), 'json').description).toBe('emoji \u{1f600} ok');
  });

  it('refuses nesting deeper than 64 levels', () => {
    let data: unknown = 'leaf';
    for (let i = 0; i < 70; i++) data = [data];
    const error = refusal(json({ user_data: [{ name: 'u', data }] }), 'json');
    expect(error.message).toMatch(/^spec\.json:1: user_data\[0\]\.data(\[0\])+: nesting is deeper than 64 levels$/);
  });
});
