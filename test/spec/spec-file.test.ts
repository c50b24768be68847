import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadSpecFile } from '@sluice/core/spec';
import { describe, expect, it } from 'vitest';

const dir = mkdtempSync(join(tmpdir(), 'sluice-spec-'));
const write = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};

const YAML = 'name: w\njobs:\n  - name: a\n    command: echo a\n';
const JSON_TEXT = JSON.stringify({ name: 'w', jobs: [{ name: 'a', command: 'echo a' }] }, null, 2);

describe('loadSpecFile', () => {
  it('reads YAML from .yaml and .yml files', async () => {
    expect((await loadSpecFile(write('spec.yaml', YAML))).jobs[0]?.name).toBe('a');
    expect((await loadSpecFile(write('spec.yml', YAML))).jobs[0]?.name).toBe('a');
  });

  it('reads JSON from .json files, and names their lines in errors', async () => {
    expect((await loadSpecFile(write('spec.json', JSON_TEXT))).name).toBe('w');
    const path = write('bad.json', JSON_TEXT.replace('"command"', '"comand"'));
    await expect(loadSpecFile(path)).rejects.toThrow(`${path}:6: jobs[0].comand: unknown key "comand"`);
  });

  it('reads other files as JSON when they are JSON and as YAML otherwise', async () => {
    expect((await loadSpecFile(write('spec.json5', JSON_TEXT))).name).toBe('w');
    expect((await loadSpecFile(write('workflow', YAML))).name).toBe('w');
    expect((await loadSpecFile(write('flow.spec', '{name: w, jobs: [{name: a, command: x}]}'))).name).toBe('w');
  });

  it('names the file in every error', async () => {
    const path = write('cycle.yaml', `${YAML}    depends_on: [a]\n`);
    await expect(loadSpecFile(path)).rejects.toMatchObject({
      code: 'SPEC_CYCLE',
      message: `${path}:3: jobs[0]: dependency cycle: a -> a`,
      details: { path: 'jobs[0]', line: 3 },
    });
  });

  it('ignores a byte order mark', async () => {
    expect((await loadSpecFile(write('bom.yaml', `\uFEFF${YAML}`))).name).toBe('w');
  });

  it('refuses a file it cannot read', async () => {
    const path = join(dir, 'missing.yaml');
    await expect(loadSpecFile(path)).rejects.toMatchObject({
      code: 'SPEC_READ_FAILED',
      message: `${path}: cannot read the workflow spec: no such file`,
    });
  });
});
