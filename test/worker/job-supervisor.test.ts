import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  JobSupervisor,
  locateSupervisorScript,
  SUPERVISOR_SCRIPT,
  type SupervisedJobSpec,
  type SupervisorSample,
} from '@sluice/runner';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, REPO_ROOT, runCli, waitFor } from '../support/cli-runner.js';
import { supervisedJobs } from '../support/supervised-job.js';

const tmp = () => mkdtempSync(path.join(os.tmpdir(), 'sluice-supervisor-'));

/** Running, and not a zombie (pid 1 of a container may never reap what is reparented to it). */
function alive(pid: number): boolean {
  try {
    const st = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return st[st.lastIndexOf(')') + 2] !== 'Z';
  } catch {
    return false;
  }
}

/** Shell: a background `sleep 300` (started through `via`, e.g. setsid) that appends its pid to `file`. */
const sleeper = (file: string, via = '') => `${via} bash -c 'echo $$ >> ${file}; exec sleep 300' &`;
/** Shell: wait until `file` has `n` lines. */
const untilLines = (file: string, n: number) =>
  `until [ "$(cat ${file} 2>/dev/null | wc -l)" -ge ${n} ]; do sleep 0.02; done;`;

async function pidsIn(file: string, n: number): Promise<number[]> {
  return waitFor(`${n} pids in ${file}`, async () => {
    let lines: string[];
    try {
      lines = readFileSync(file, 'utf8').split('\n').filter(Boolean);
    } catch {
      return null;
    }
    return lines.length >= n ? lines.map(Number) : null;
  });
}

/** A job that leaves three sleepers: one in its group, one in a session of its own, one two sessions away. */
const leavesSleepers = (file: string) =>
  `${sleeper(file)} ${sleeper(file, 'setsid')} setsid bash -c ${shellQuote(`${sleeper(file, 'setsid')} wait`)} & ${untilLines(file, 3)}`;

describe('JobSupervisor', { timeout: 120_000 }, () => {
  let sup: JobSupervisor;
  let dir: string;
  const logs: string[] = [];
  process.env.SUPERVISOR_TEST_BASE = 'in the worker';
  const spec = supervisedJobs(() => dir);

  beforeAll(async () => {
    dir = tmp();
    sup = await JobSupervisor.start({ log: (level, msg) => logs.push(`${level} ${msg}`) });
    expect(sup.subreaper).toBe(true);
  });
  afterAll(async () => {
    await sup?.stop();
  });

  it('reports exit codes, and signals as a shell does (128 + n)', async () => {
    const ok = sup.spawn(spec('exit 0'));
    const three = sup.spawn(spec('exit 3'));
    const term = sup.spawn(spec('sleep 300'));
    const early = sup.spawn(spec('sleep 300'));
    early.kill('SIGKILL'); // before its start is confirmed: delivered once it is
    expect(await ok.exited).toMatchObject({ code: 0, signal: null, returnCode: 0 });
    expect(await three.exited).toMatchObject({ code: 3, signal: null, returnCode: 3 });
    expect(await term.pid).toBeGreaterThan(1);
    term.kill('SIGTERM');
    expect(await term.exited).toMatchObject({ code: null, signal: 'SIGTERM', returnCode: 143 });
    expect(await early.exited).toMatchObject({ code: null, signal: 'SIGKILL', returnCode: 137 });
    expect(term.running).toBe(false);
  });

  it('writes the logs, and applies the environment, the directory and the invocation script', async () => {
    const cwd = path.join(dir, 'work dir');
    mkdirSync(cwd);
    const env: NodeJS.ProcessEnv = { ...process.env, FOO: 'bar baz' };
    delete env.SUPERVISOR_TEST_BASE;
    const text = `tab\there "quoted" back\\slash é 😀`;
    const s = spec(
      `printf '%s|%s|%s\\n' "$FOO" "$PWD" "\${SUPERVISOR_TEST_BASE-unset}"; printf '%s\\n' ${shellQuote(text)}; echo oops >&2`,
      { cwd, env },
    );
    expect(await sup.spawn(s).exited).toMatchObject({ returnCode: 0 });
    expect(readFileSync(s.stdoutPath, 'utf8')).toBe(`bar baz|${cwd}|unset\n${text}\n`);
    expect(readFileSync(s.stderrPath, 'utf8')).toBe('oops\n');
    // The worker's own variables reach jobs that keep them.
    const kept = spec('echo "$SUPERVISOR_TEST_BASE"');
    await sup.spawn(kept).exited;
    expect(readFileSync(kept.stdoutPath, 'utf8')).toBe('in the worker\n');
    const wrapped = spec(`sh -c 'echo "$GREETING"'`, { invocationScript: 'env GREETING=hello' });
    await sup.spawn(wrapped).exited;
    expect(readFileSync(wrapped.stdoutPath, 'utf8')).toBe('hello\n');
  });

  it('fails a job whose log file or directory is unusable, naming the path and the reason, and goes on', async () => {
    const file = path.join(dir, 'a-plain-file');
    writeFileSync(file, '');
    const cases: [Partial<SupervisedJobSpec>, RegExp][] = [
      [{ stdoutPath: `${file}/x.o` }, /cannot open the stdout log .*a-plain-file\/x\.o: Not a directory/],
      [{ stderrPath: path.join(dir, 'missing', 'x.e') }, /cannot open the stderr log .*missing\/x\.e: No such file/],
      [{ cwd: path.join(dir, 'no-such-dir') }, /cannot change to the directory .*no-such-dir: No such file/],
    ];
    for (const [over, message] of cases) {
      const job = sup.spawn(spec('echo should not run', over));
      const exit = await job.exited;
      expect(exit.error?.message).toMatch(message);
      expect(exit.returnCode).toBe(127);
      await expect(job.pid).rejects.toThrow(message);
    }
    expect(sup.running).toBe(true);
    expect(await sup.spawn(spec('exit 0')).exited).toMatchObject({ returnCode: 0 });
  });

  it('kills what a job left behind before reporting its exit, and only that', async () => {
    const other = path.join(dir, 'other.pids');
    const bystander = sup.spawn(spec(`${leavesSleepers(other)} wait`));
    const otherPids = await pidsIn(other, 3);
    const file = path.join(dir, 'left.pids');
    const job = sup.spawn(spec(`${leavesSleepers(file)} exit 0`));
    const exit = await job.exited;
    expect(exit).toMatchObject({ code: 0, returnCode: 0, leftovers: true });
    const left = await pidsIn(file, 3);
    // Gone when the exit is reported, not some time later.
    expect(left.filter(alive)).toEqual([]);
    expect(otherPids.filter(alive)).toEqual(otherPids);
    bystander.kill('SIGKILL');
    await bystander.exited;
    expect(otherPids.filter(alive)).toEqual([]);
  });

  it('kills an escapee that cleared its environment once every job running when it was found has ended', async () => {
    const bystander = sup.spawn(spec('sleep 300'));
    await bystander.pid;
    const file = path.join(dir, 'unmarked.pids');
    const job = sup.spawn(
      spec(
        `setsid /usr/bin/env -i /bin/sh -c 'echo $$ >> ${file}; exec /bin/sleep 300' & ${untilLines(file, 1)} exit 0`,
      ),
    );
    expect(await job.exited).toMatchObject({ returnCode: 0 });
    const escapee = (await pidsIn(file, 1))[0]!;
    // It may be the bystander's: it lives as long as the bystander does.
    expect(alive(escapee)).toBe(true);
    bystander.kill('SIGKILL');
    await bystander.exited;
    await waitFor('the unmarked escapee to be killed', async () => !alive(escapee), 10_000);
  });

  it('delivers kill(SIGTERM) to the whole process group, to traps included', async () => {
    const ready = path.join(dir, 'term.ready');
    const got = path.join(dir, 'term.got');
    const job = sup.spawn(
      spec(
        `(trap 'echo sub >> ${got}; exit 0' TERM; echo sub >> ${ready}; sleep 300 & wait) & SUB=$!; ` +
          `trap 'wait $SUB; echo main >> ${got}; exit 7' TERM; echo main >> ${ready}; sleep 300 & wait`,
      ),
    );
    await pidsIn(ready, 2);
    job.kill('SIGTERM');
    expect(await job.exited).toMatchObject({ code: 7, signal: null, returnCode: 7 });
    expect(readFileSync(got, 'utf8').split('\n').filter(Boolean).sort()).toEqual(['main', 'sub']);
  });

  it('ignores SIGTERM sent to the supervisor while its worker lives: the worker stops its jobs', async () => {
    const job = sup.spawn(spec('sleep 300'));
    const pid = await job.pid;
    process.kill(sup.pid, 'SIGTERM');
    await waitFor('the supervisor to say it ignored SIGTERM', async () =>
      logs.some((l) => l.startsWith('warn job supervisor: ignored a termination signal')),
    );
    expect(alive(pid)).toBe(true);
    expect(sup.running).toBe(true);
    job.kill('SIGKILL');
    expect(await job.exited).toMatchObject({ signal: 'SIGKILL' });
  });

  it("samples a job's memory, CPU and processes", async () => {
    const samples = (job: { onSample?: (s: SupervisorSample) => void }) => {
      const seen: SupervisorSample[] = [];
      job.onSample = (s) => seen.push(s);
      return seen;
    };
    const big = sup.spawn(spec(`perl -e '$x = "a" x 100_000_000; sleep 300'`, { sampleIntervalMs: 100 }));
    const bigSeen = samples(big);
    await waitFor('a sample of >= 80 MB', async () => bigSeen.some((s) => s.rssBytes >= 80e6));
    big.kill('SIGKILL');
    const busy = sup.spawn(spec('sleep 300 & sleep 300 & while :; do :; done', { sampleIntervalMs: 200 }));
    const busySeen = samples(busy);
    await waitFor('a sample of > 50 % CPU', async () => busySeen.some((s) => s.cpuPercent > 50), 30_000);
    expect(Math.max(...busySeen.map((s) => s.processes))).toBe(3);
    busy.kill('SIGKILL');
    await Promise.all([big.exited, busy.exited]);
    const quiet = sup.spawn(spec('exit 0'));
    expect(samples(quiet)).toEqual([]);
    await quiet.exited;
  });

  it('runs 2,000 short jobs at a concurrency of 16', async () => {
    let next = 0;
    const codes: number[] = [];
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next < 2000) {
          const i = next++;
          const job = sup.spawn(spec('true', { stdoutPath: path.join(dir, `many${i}.o`) }));
          codes.push((await job.exited).returnCode);
        }
      }),
    );
    expect(codes).toHaveLength(2000);
    expect(codes.filter((c) => c !== 0)).toEqual([]);
  });
});

describe('JobSupervisor and the death of its worker or of itself', { timeout: 120_000 }, () => {
  const moduleUrl = pathToFileURL(path.join(REPO_ROOT, 'packages/runner/dist/worker/job-supervisor.js')).href;

  /** A worker stand-in: node running one job that leaves sleepers, in a process group of its own. */
  async function fakeWorker(dir: string) {
    const pids = path.join(dir, 'pids');
    const script = path.join(dir, 'worker.mjs');
    writeFileSync(
      script,
      `import { JobSupervisor } from ${JSON.stringify(moduleUrl)};
const sup = await JobSupervisor.start();
const job = sup.spawn({ command: ${JSON.stringify(`${leavesSleepers(pids)} wait`)}, invocationScript: null,
  cwd: ${JSON.stringify(dir)}, env: process.env, stdoutPath: 'job.o', stderrPath: 'job.e' });
console.log(JSON.stringify({ supervisor: sup.pid, job: await job.pid }));
setInterval(() => {}, 60_000);
`,
    );
    const child = spawn(process.execPath, [script], { cwd: dir, detached: true, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    const ids = await waitFor('the fake worker to start its job', async () =>
      out.includes('\n') ? (JSON.parse(out) as { supervisor: number; job: number }) : null,
    );
    const all = [ids.supervisor, ids.job, ...(await pidsIn(pids, 3))];
    expect(all.filter(alive)).toEqual(all);
    return { worker: child.pid!, all };
  }

  it.each([
    ['the worker alone', (pid: number) => process.kill(pid, 'SIGKILL')],
    ["the worker's whole process group", (pid: number) => process.kill(-pid, 'SIGKILL')],
  ])('SIGKILL of %s: no job process survives', async (_what, kill) => {
    const { worker, all } = await fakeWorker(tmp());
    kill(worker);
    await waitFor('every job process to be gone', async () => all.every((p) => !alive(p)), 15_000);
  });

  it('SIGKILL of the supervisor: the worker kills the jobs and resolves them with an error', async () => {
    const dir = tmp();
    const lost: Error[] = [];
    const sup = await JobSupervisor.start({ onLost: (e) => lost.push(e) });
    const pids = path.join(dir, 'pids');
    const job = sup.spawn({
      command: `${leavesSleepers(pids)} wait`,
      invocationScript: null,
      cwd: dir,
      env: process.env,
      stdoutPath: path.join(dir, 'j.o'),
      stderrPath: path.join(dir, 'j.e'),
    });
    const all = [await job.pid, ...(await pidsIn(pids, 3))];
    process.kill(sup.pid, 'SIGKILL');
    const exit = await job.exited;
    expect(exit.error?.message).toMatch(/job supervisor \(pid \d+\) exited unexpectedly \(killed by SIGKILL\)/);
    expect(exit).toMatchObject({ returnCode: 137, lost: true });
    await waitFor('every job process to be gone', async () => all.every((p) => !alive(p)), 15_000);
    expect(lost).toHaveLength(1);
    const after = await sup.spawn({
      command: 'true',
      invocationScript: null,
      cwd: dir,
      env: process.env,
      stdoutPath: path.join(dir, 'k.o'),
      stderrPath: path.join(dir, 'k.e'),
    }).exited;
    expect(after.error?.message).toMatch(/not running/);
    await sup.stop();
  });
});

describe('JobSupervisor start-up and location', () => {
  it('fails clearly without perl, or when perl cannot run the script', async () => {
    await expect(JobSupervisor.start({ perl: '/nonexistent/perl' })).rejects.toThrow(
      /cannot start the job supervisor: \/nonexistent\/perl not found/,
    );
    const script = path.join(tmp(), 'broken.pl');
    writeFileSync(script, 'die "Can\'t locate JSON/PP.pm in @INC (you may need to install the JSON::PP module)\\n";\n');
    await expect(JobSupervisor.start({ scriptPath: script })).rejects.toThrow(
      /exited at start \(exit code \d+\): Can't locate JSON\/PP\.pm.*perl's core modules are missing/,
    );
  });

  it("keeps perl's own variables from the supervisor and hands them to the jobs", async () => {
    const saved = process.env.PERL5OPT;
    process.env.PERL5OPT = '-MNo::Such::Module';
    let sup: JobSupervisor;
    try {
      sup = await JobSupervisor.start();
    } finally {
      if (saved === undefined) delete process.env.PERL5OPT;
      else process.env.PERL5OPT = saved;
    }
    const dir = tmp();
    const out = path.join(dir, 'o');
    const env = { ...process.env, PERL5OPT: '-MNo::Such::Module' };
    const job = sup.spawn({
      command: 'echo "$PERL5OPT"',
      invocationScript: null,
      cwd: dir,
      env,
      stdoutPath: out,
      stderrPath: out,
    });
    expect(await job.exited).toMatchObject({ returnCode: 0 });
    expect(readFileSync(out, 'utf8')).toBe('-MNo::Such::Module\n');
    await sup.stop();
  });

  it('stop() SIGKILLs what still runs, reports it, and leaves nothing', async () => {
    const dir = tmp();
    const sup = await JobSupervisor.start();
    const pids = path.join(dir, 'pids');
    const job = sup.spawn({
      command: `${leavesSleepers(pids)} wait`,
      invocationScript: null,
      cwd: dir,
      env: process.env,
      stdoutPath: path.join(dir, 'o'),
      stderrPath: path.join(dir, 'e'),
    });
    const all = [sup.pid, await job.pid, ...(await pidsIn(pids, 3))];
    await sup.stop();
    expect(await job.exited).toMatchObject({ signal: 'SIGKILL', returnCode: 137 });
    expect((await job.exited).error).toBeUndefined();
    expect(all.filter(alive)).toEqual([]);
    expect(sup.running).toBe(false);
    const late = sup.spawn({
      command: 'true',
      invocationScript: null,
      cwd: dir,
      env: {},
      stdoutPath: path.join(dir, 'o'),
      stderrPath: path.join(dir, 'e'),
    });
    expect((await late.exited).error?.message).toMatch(/not running/);
  });

  it('finds the script from the sources and beside the bundled CLI', async () => {
    expect(await locateSupervisorScript()).toBe(path.join(REPO_ROOT, 'packages/runner/supervisor', SUPERVISOR_SCRIPT));
    const beside = path.join(path.dirname(CLI), SUPERVISOR_SCRIPT);
    expect(await locateSupervisorScript(pathToFileURL(CLI))).toBe(beside);
    expect(readFileSync(beside, 'utf8')).toBe(
      readFileSync(path.join(REPO_ROOT, 'packages/runner/supervisor', SUPERVISOR_SCRIPT), 'utf8'),
    );
    expect((await runCli(['--help'])).code).toBe(0);
    // Bundled as scripts/bundle-cli.mjs bundles the CLI, import.meta.url is the bundle's.
    const out = tmp();
    const entry = path.join(out, 'entry.mjs');
    const locator = path.join(REPO_ROOT, 'packages/runner/src/worker/supervisor-script.ts');
    writeFileSync(
      entry,
      `import { locateSupervisorScript } from ${JSON.stringify(locator)};\nconsole.log(await locateSupervisorScript());\n`,
    );
    const { build } = await import('esbuild');
    await build({
      entryPoints: [entry],
      outdir: path.join(out, 'bundle'),
      bundle: true,
      splitting: true,
      platform: 'node',
      format: 'esm',
      outExtension: { '.js': '.mjs' },
      logLevel: 'silent',
    });
    writeFileSync(path.join(out, 'bundle', SUPERVISOR_SCRIPT), '');
    const run = await new Promise<string>((resolve) => {
      const child = spawn(process.execPath, [path.join(out, 'bundle', 'entry.mjs')], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let text = '';
      child.stdout.on('data', (d) => (text += d));
      child.on('close', () => resolve(text.trim()));
    });
    expect(run).toBe(path.join(out, 'bundle', SUPERVISOR_SCRIPT));
  });
});

function shellQuote(s: string): string {
  return `'${s.replaceAll("'", `'\\''`)}'`;
}
