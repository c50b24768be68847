// Child processes of the benchmarks: node scripts that talk over IPC (ready / go / progress /
// done / stop), and plain commands whose wall time and peak memory are measured.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const BENCH_DIR = path.resolve(here, '..');
export const REPO_DIR = path.resolve(BENCH_DIR, '..');
const RSS_REPORTER = path.join(here, 'max-rss-reporter.mjs');

export const nowMs = () => performance.now();

/** Wall-clock time in nanoseconds as a BigInt, comparable with `date +%s%N` in a job. */
export const wallNs = () => BigInt(Math.round((performance.timeOrigin + performance.now()) * 1e6));

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * A node script with an IPC channel. Messages are objects with a `type`; `waitFor(type)`
 * resolves with the first message of that type not yet consumed, and rejects if the child
 * exits first.
 */
export function startNodeChild(script, args = [], { env = {}, cwd = REPO_DIR, label = path.basename(script) } = {}) {
  const child = spawn(process.execPath, [script, ...args], {
    cwd,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  let stderr = '';
  child.stdout.on('data', () => {});
  child.stderr.on('data', (d) => {
    stderr = (stderr + d).slice(-8000);
  });
  const queue = [];
  const waiters = [];
  const listeners = [];
  child.on('message', (m) => {
    for (const l of listeners) l(m);
    const i = waiters.findIndex((w) => w.type === m.type);
    if (i >= 0) waiters.splice(i, 1)[0].resolve(m);
    else queue.push(m);
  });
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  exited.then(({ code, signal }) => {
    for (const w of waiters.splice(0))
      w.reject(
        new Error(`${label} exited (${code ?? signal}) before sending "${w.type}": ${stderr.trim().slice(-2000)}`),
      );
  });
  return {
    child,
    exited,
    get stderr() {
      return stderr;
    },
    /** Calls fn for every message from now on; returns the function that stops it. */
    onMessage: (fn) => {
      listeners.push(fn);
      return () => {
        const i = listeners.indexOf(fn);
        if (i >= 0) listeners.splice(i, 1);
      };
    },
    /** Forgets messages nobody waited for (between two runs of a reused process). */
    clearQueue: () => {
      queue.length = 0;
    },
    get alive() {
      return child.exitCode === null && child.signalCode === null && child.connected;
    },
    send: (m) => {
      if (child.connected) child.send(m);
    },
    waitFor(type, timeoutMs = 600_000) {
      const i = queue.findIndex((m) => m.type === type);
      if (i >= 0) return Promise.resolve(queue.splice(i, 1)[0]);
      if (child.exitCode !== null || child.signalCode !== null)
        return Promise.reject(new Error(`${label} already exited: ${stderr.trim().slice(-2000)}`));
      return new Promise((resolve, reject) => {
        const w = { type, resolve, reject };
        waiters.push(w);
        const t = setTimeout(() => {
          const k = waiters.indexOf(w);
          if (k >= 0) waiters.splice(k, 1);
          reject(new Error(`${label}: no "${type}" within ${timeoutMs} ms`));
        }, timeoutMs);
        t.unref();
      });
    },
    kill: (sig = 'SIGTERM') => child.exitCode === null && child.signalCode === null && child.kill(sig),
  };
}

/**
 * Runs a node script to its end and returns its exit code, output, wall time (ms) and peak
 * resident memory (KiB, from process.resourceUsage() at exit, written by a preloaded module).
 */
export async function runNode(script, args, { env = {}, cwd = REPO_DIR, timeoutMs = 1_800_000 } = {}) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sluice-bench-rss-'));
  const rssFile = path.join(dir, 'rss');
  try {
    const t0 = nowMs();
    const child = spawn(process.execPath, ['--import', RSS_REPORTER, script, ...args], {
      cwd,
      env: { ...process.env, ...env, SLUICE_BENCH_MAX_RSS_FILE: rssFile },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out = [];
    let stderr = '';
    child.stdout.on('data', (d) => out.push(d));
    child.stderr.on('data', (d) => {
      stderr = (stderr + d).slice(-8000);
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    const { code, signal } = await new Promise((resolve) =>
      child.once('exit', (c, s) => resolve({ code: c, signal: s })),
    );
    const ms = nowMs() - t0;
    clearTimeout(timer);
    let maxRssKiB = null;
    try {
      maxRssKiB = Number(readFileSync(rssFile, 'utf8'));
    } catch {
      // The child died before its exit handler ran.
    }
    return { code, signal, stdout: Buffer.concat(out).toString('utf8'), stderr, ms, maxRssKiB };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Like runNode, but fails with the child's stderr when it does not exit 0. */
export async function runNodeOk(script, args, opts) {
  const r = await runNode(script, args, opts);
  if (r.code !== 0)
    throw new Error(
      `${path.basename(script)} ${args.join(' ')} exited ${r.code ?? r.signal}: ${r.stderr.trim().slice(-2000)}`,
    );
  return r;
}
