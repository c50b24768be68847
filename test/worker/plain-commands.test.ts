import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { JobSupervisor, type SupervisedJobSpec } from '@sluice/runner';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { supervisedJobs } from '../support/supervised-job.js';

// The job supervisor execs a plain command line itself, as GNU make does: bash's start-up cost
// about 1 ms of CPU per short job. Anything bash would run differently still runs in bash.
describe('plain commands', { timeout: 60_000 }, () => {
  let sup: JobSupervisor;
  let dir: string;
  const spec = supervisedJobs(() => dir);

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'sluice-plain-'));
    sup = await JobSupervisor.start();
  });
  afterAll(async () => {
    await sup?.stop();
  });

  it('runs a plain command without bash, and anything else as bash would', async () => {
    const out = async (command: string, over: Partial<SupervisedJobSpec> = {}) => {
      const s = spec(command, over);
      const exit = await sup.spawn(s).exited;
      return {
        code: exit.returnCode,
        stdout: readFileSync(s.stdoutPath, 'utf8'),
        stderr: readFileSync(s.stderrPath, 'utf8'),
      };
    };
    // bash exports `_` as the path of the program it runs: kept as the worker set it, no bash ran.
    // PWD is the job's directory either way.
    const env = { ...process.env, _: 'set by the worker' };
    expect(await out('printenv _ PWD', { env })).toEqual({
      code: 0,
      stdout: `set by the worker\n${dir}\n`,
      stderr: '',
    });
    expect((await out('printenv _', { env, invocationScript: 'env' })).stdout).toBe('set by the worker\n');
    // Not plain: an assignment, a quote, a builtin, true with arguments.
    expect((await out('FOO=1 printenv FOO _', { env })).stdout).toMatch(/^1\n\/.*printenv\n$/);
    expect((await out("printenv '_'", { env })).stdout).toMatch(/printenv\n$/);
    expect(await out('echo --help')).toMatchObject({ code: 0, stdout: '--help\n' });
    expect(await out('true --help')).toEqual({ code: 0, stdout: '', stderr: '' });
    expect((await out('false')).code).toBe(1);
    // What bash would do first: read $BASH_ENV (as Lmod sets it), run a function exported under
    // the program's name.
    const bashEnv = path.join(dir, 'bash-env.sh');
    writeFileSync(bashEnv, 'export FROM_BASH_ENV=sourced\n');
    expect((await out('printenv FROM_BASH_ENV', { env: { ...process.env, BASH_ENV: bashEnv } })).stdout).toBe(
      'sourced\n',
    );
    const fn = { ...process.env, 'BASH_FUNC_printenv%%': '() {  echo "the function: $*"\n}' };
    expect((await out('printenv HOME', { env: fn })).stdout).toBe('the function: HOME\n');
    // A script without #! runs in bash, as bash runs it (execvp would have given it to sh).
    writeFileSync(path.join(dir, 'no-shebang'), 'echo "bash ${BASH_VERSION:+yes}"\n', { mode: 0o755 });
    expect((await out('./no-shebang')).stdout).toBe('bash yes\n');
    // What cannot be run is reported by bash, with its exit codes.
    const missing = await out('no-such-program-here --flag');
    expect(missing.code).toBe(127);
    expect(missing.stderr).toMatch(/no-such-program-here: command not found/);
    writeFileSync(path.join(dir, 'not-executable'), '#!/bin/sh\n', { mode: 0o644 });
    expect((await out('./not-executable')).code).toBe(126);
  });
});
