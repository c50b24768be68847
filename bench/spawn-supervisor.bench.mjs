// Job start throughput: N `true` jobs (exec'd without a shell on both sides: the supervisor
// skips bash for a plain command) at a fixed concurrency, each with its two log files,
// (a) through the Perl job supervisor, (b) the way job-process.ts does it today (openSync x2 and
// child_process.spawn, detached). Rounds are interleaved in one process; the median of 3 is
// reported, with what matters to a worker besides the rate: the node process's own CPU time per
// job and how long its event loop was blocked (event-loop delay, max and p99).
//
//   pnpm build && node bench/spawn-supervisor.bench.mjs [jobs] [concurrency]
import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { JobSupervisor } from '../packages/runner/dist/worker/job-supervisor.js';

const N = Number(process.argv[2] ?? 2000);
const CONCURRENCY = Number(process.argv[3] ?? 16);
const ROUNDS = 3;
const dir = mkdtempSync(path.join(os.tmpdir(), 'sluice-spawn-bench-'));

function nodeSpawn(i) {
  return new Promise((resolve, reject) => {
    const out = openSync(path.join(dir, `n${i}.o`), 'w');
    const err = openSync(path.join(dir, `n${i}.e`), 'w');
    const child = spawn('true', [], { stdio: ['ignore', out, err], detached: true, env: process.env });
    closeSync(out);
    closeSync(err);
    child.once('error', reject);
    // Resolved on the next turn: a spawn inside libuv's exit callback would starve the timers.
    child.once('exit', (code) => setImmediate(() => (code === 0 ? resolve() : reject(new Error(`exit ${code}`)))));
  });
}

function supervisorSpawn(sup) {
  return async (i) => {
    const job = sup.spawn({
      command: 'true',
      invocationScript: null,
      cwd: dir,
      env: process.env,
      stdoutPath: path.join(dir, `s${i}.o`),
      stderrPath: path.join(dir, `s${i}.e`),
    });
    const exit = await job.exited;
    if (exit.returnCode !== 0) throw exit.error ?? new Error(`exit ${exit.returnCode}`);
  };
}

/** CPU time (ms) of a process and its reaped children, from /proc (the supervisor's own cost) */
function cpuMs(pid) {
  if (!pid) return 0;
  const st = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
  return ((Number(f[11]) + Number(f[12])) * 1000) / 100;
}

async function measure(run, otherPid) {
  // Event-loop blocking: the gaps between ticks of a 1 ms interval.
  const gaps = [];
  let last = performance.now();
  const ticker = setInterval(() => {
    const t = performance.now();
    gaps.push(t - last);
    last = t;
  }, 1);
  const cpu0 = process.cpuUsage();
  const other0 = cpuMs(otherPid);
  const t0 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < N) await run(next++);
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  clearInterval(ticker);
  gaps.sort((a, b) => a - b);
  return {
    rate: N / seconds,
    cpuMsPerJob: (cpu.user + cpu.system) / 1000 / N,
    otherCpuMsPerJob: (cpuMs(otherPid) - other0) / N,
    maxGapMs: gaps.at(-1) ?? 0,
    p99GapMs: gaps[Math.floor(gaps.length * 0.99)] ?? 0,
  };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const sup = await JobSupervisor.start();
const results = { supervisor: [], 'node spawn': [] };
await measure(supervisorSpawn(sup)); // warm-up, both
await measure(nodeSpawn);
for (let r = 0; r < ROUNDS; r++) {
  results.supervisor.push(await measure(supervisorSpawn(sup), sup.pid));
  results['node spawn'].push(await measure(nodeSpawn));
}
await sup.stop();
rmSync(dir, { recursive: true, force: true });

console.log(`${N} jobs of \`true\`, concurrency ${CONCURRENCY}, median of ${ROUNDS} interleaved rounds`);
for (const [name, rs] of Object.entries(results)) {
  const m = (k) => median(rs.map((x) => x[k]));
  console.log(
    `${name.padEnd(11)} ${m('rate').toFixed(0).padStart(5)} jobs/s   worker CPU ${m('cpuMsPerJob').toFixed(2)} ms/job` +
      (name === 'supervisor' ? ` + supervisor ${m('otherCpuMsPerJob').toFixed(2)} ms/job` : '') +
      `   1 ms ticks late by max ${m('maxGapMs').toFixed(1)} ms, p99 ${m('p99GapMs').toFixed(1)} ms` +
      `   (rates: ${rs.map((x) => x.rate.toFixed(0)).join(', ')})`,
  );
}
