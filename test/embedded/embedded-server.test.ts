import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { appendFile, chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { embeddedHome, embeddedServerStatus, ensureEmbeddedServer, stopEmbeddedServer } from '@sluice/embedded';
import type pgTypes from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ProcessResult, runProcess } from '../support/process-runner.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const moduleFile = path.join(repo, 'packages/embedded/src/embedded-server.ts');
// pg is a dependency of packages/core only, so it is not resolvable from test/.
const pg = createRequire(path.join(repo, 'packages/core/package.json'))('pg') as typeof pgTypes;
const isRoot = process.getuid?.() === 0;
const T = 120_000;

let scratch = '';
const homes: string[] = [];

function newHome(name: string): string {
  const home = path.join(scratch, name);
  homes.push(home);
  return home;
}

async function query<T extends pgTypes.QueryResultRow>(url: string, sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}

function portOf(url: string): number {
  return Number(new URL(url).port);
}

/** Whether a TCP connection to the port is accepted; the server's own answer is not needed. */
async function accepts(port: number): Promise<boolean> {
  const net = await import('node:net');
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

// A child `node` runs the TypeScript module through these loader hooks (Node 20 cannot strip
// types, and tsx is not installed): .js imports between .ts files map to the .ts file,
// @sluice/core maps to its source as in vitest.config.ts (not to a build that may be stale
// or missing), and .ts files are transpiled with the workspace's TypeScript.
function hooksSource(): string {
  const tsUrl = pathToFileURL(createRequire(import.meta.url).resolve('typescript')).href;
  const coreUrl = pathToFileURL(path.join(repo, 'packages/core/src/index.ts')).href;
  return `
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import ts from ${JSON.stringify(tsUrl)};
export async function resolve(specifier, context, next) {
  if (specifier === '@sluice/core') return { url: ${JSON.stringify(coreUrl)}, shortCircuit: true };
  if (specifier.startsWith('.') && specifier.endsWith('.js') && context.parentURL?.endsWith('.ts')) {
    const url = new URL(specifier.slice(0, -3) + '.ts', context.parentURL);
    if (existsSync(fileURLToPath(url))) return { url: url.href, shortCircuit: true };
  }
  return next(specifier, context);
}
export async function load(url, context, next) {
  if (!url.endsWith('.ts')) return next(url, context);
  const file = fileURLToPath(url);
  const out = ts.transpileModule(await readFile(file, 'utf8'), {
    fileName: file,
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
  });
  return { format: 'module', source: out.outputText, shortCircuit: true };
}
`;
}

const childSource = `
const { ensureEmbeddedServer } = await import(${JSON.stringify(pathToFileURL(moduleFile).href)});
const result = await ensureEmbeddedServer({ home: process.argv[2] });
process.stdout.write(JSON.stringify({ ...result, pid: process.pid }));
`;

function runChild(home: string): Promise<ProcessResult> {
  return runProcess(process.execPath, [
    '--import',
    pathToFileURL(path.join(scratch, 'register.mjs')).href,
    path.join(scratch, 'child.mjs'),
    home,
  ]);
}

/** Fields of /proc/<pid>/stat after the command name: [state, ppid, pgrp, session, ...]. */
function procStat(pid: number): string[] {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

beforeAll(async () => {
  scratch = await mkdtemp(path.join(os.tmpdir(), 'sluice-embedded-'));
  // As root the server runs as OS user postgres, which must be able to pass through here.
  await chmod(scratch, 0o711);
  await writeFile(path.join(scratch, 'hooks.mjs'), hooksSource());
  await writeFile(
    path.join(scratch, 'register.mjs'),
    "import { register } from 'node:module';\nregister('./hooks.mjs', import.meta.url);\n",
  );
  await writeFile(path.join(scratch, 'child.mjs'), childSource);
});

afterAll(async () => {
  for (const home of homes) {
    await stopEmbeddedServer({ home }).catch(() => {});
  }
  if (scratch) await rm(scratch, { recursive: true, force: true });
}, T);

describe('embeddedHome', () => {
  it('prefers SLUICE_HOME, then XDG_DATA_HOME, then the per-user default', () => {
    const saved = { SLUICE_HOME: process.env.SLUICE_HOME, XDG_DATA_HOME: process.env.XDG_DATA_HOME };
    try {
      process.env.SLUICE_HOME = '/x/sluice-home';
      process.env.XDG_DATA_HOME = '/x/data';
      expect(embeddedHome()).toBe('/x/sluice-home');
      delete process.env.SLUICE_HOME;
      expect(embeddedHome()).toBe('/x/data/sluice');
      delete process.env.XDG_DATA_HOME;
      expect(embeddedHome()).toBe(isRoot ? '/var/lib/sluice' : path.join(os.homedir(), '.local/share/sluice'));
    } finally {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  });
});

describe('the embedded server of one home', () => {
  let home = '';
  let url = '';
  let pid = 0;

  it(
    'starts from nothing, past a stale lock, on a loopback port of its own',
    async () => {
      home = newHome('solo');
      // A lock left by a process that died: it must be broken, not waited on for minutes.
      const dead = await runNode('');
      // 0700 like a mkdtemp home: as root, the server's OS user must still get in.
      await mkdir(home, { recursive: true, mode: 0o700 });
      await writeFile(path.join(home, 'embedded.lock'), JSON.stringify({ pid: dead, host: os.hostname() }));

      const progress: string[] = [];
      const r = await ensureEmbeddedServer({ home, onProgress: (m) => progress.push(m) });
      url = r.url;
      expect(r.started).toBe(true);
      expect(progress.some((m) => m.includes('creating'))).toBe(true);
      expect(portOf(url)).not.toBe(5432);
      expect(new URL(url).hostname).toBe('127.0.0.1');
      const rows = await query<{ db: string; listen: string; one: number }>(
        url,
        "SELECT current_database() AS db, current_setting('listen_addresses') AS listen, 1 AS one",
      );
      expect(rows).toEqual([{ db: 'sluice', listen: '127.0.0.1', one: 1 }]);
      expect(existsSync(path.join(home, 'embedded.lock'))).toBe(false);
      const state = JSON.parse(await readFile(path.join(home, 'embedded.json'), 'utf8')) as Record<string, unknown>;
      expect(state).toMatchObject({ port: portOf(url), version: expect.stringMatching(/^\d+/) });
      pid = state.pid as number;
      expect(pid).toBeGreaterThan(0);
    },
    T,
  );

  it(
    'refuses a password-less login over TCP',
    async () => {
      const noPassword = new URL(url);
      noPassword.password = '';
      await expect(query(noPassword.href, 'SELECT 1')).rejects.toThrow();
    },
    T,
  );

  it(
    'is reused by a second ensure, which starts nothing',
    async () => {
      const stateFile = path.join(home, 'embedded.json');
      const stateBefore = (await stat(stateFile)).mtimeMs;
      const progress: string[] = [];
      const again = await ensureEmbeddedServer({ home, onProgress: (m) => progress.push(m) });
      expect(again).toEqual({ url, started: false });
      expect(progress).toEqual([]);
      expect((await embeddedServerStatus({ home })).pid).toBe(pid);
      // The fast path is one connection check; the locked path would rewrite the state file.
      expect((await stat(stateFile)).mtimeMs).toBe(stateBefore);
    },
    T,
  );

  it.runIf(process.platform === 'linux')('runs detached from the process that started it', () => {
    const [, ppid, , session] = procStat(pid);
    expect(Number(ppid)).not.toBe(process.pid);
    // A session leader of its own: a Ctrl-C or hang-up of our terminal does not reach it.
    expect(Number(session)).toBe(pid);
  });

  it(
    'reports its status, and stops',
    async () => {
      expect(await embeddedServerStatus({ home })).toEqual({
        running: true,
        url,
        port: portOf(url),
        pid,
        dataDir: path.join(home, 'pg'),
      });
      expect(await stopEmbeddedServer({ home })).toEqual({ wasRunning: true });
      expect(await embeddedServerStatus({ home })).toEqual({ running: false, dataDir: path.join(home, 'pg') });
      expect(await accepts(portOf(url))).toBe(false);
      expect(await stopEmbeddedServer({ home })).toEqual({ wasRunning: false });
    },
    T,
  );

  it(
    "fails with the server's own reason, then restarts on the same URL once fixed",
    async () => {
      const autoConf = path.join(home, 'pg', 'postgresql.auto.conf');
      const original = await readFile(autoConf, 'utf8');
      await appendFile(autoConf, 'sluice_no_such_setting = 1\n');
      const failure = await ensureEmbeddedServer({ home }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(failure).toMatchObject({ name: 'SluiceError', code: 'EMBEDDED_PG_FAILED' });
      expect((failure as Error).message).toContain('sluice_no_such_setting');
      expect((failure as Error).message).not.toContain('\n');

      await writeFile(autoConf, original);
      const progress: string[] = [];
      const r = await ensureEmbeddedServer({ home, onProgress: (m) => progress.push(m) });
      expect(r).toEqual({ url, started: true });
      expect(progress.some((m) => m.includes('creating'))).toBe(false);
      expect(await query(url, 'SELECT 1 AS one')).toEqual([{ one: 1 }]);
    },
    T,
  );
});

describe('the embedded server shared by processes', () => {
  it(
    'is started once by two processes racing from nothing, and outlives both',
    async () => {
      const home = newHome('shared');
      const [a, b] = await Promise.all([runChild(home), runChild(home)]);
      for (const c of [a, b]) expect(c, c.stderr).toMatchObject({ code: 0 });
      const ra = JSON.parse(a.stdout) as { url: string; started: boolean; pid: number };
      const rb = JSON.parse(b.stdout) as { url: string; started: boolean; pid: number };
      expect(ra.url).toBe(rb.url);
      expect([ra.started, rb.started].filter(Boolean)).toHaveLength(1);

      // Both starters have exited; the server must still be there, and be the same one.
      const status = await embeddedServerStatus({ home });
      expect(status).toMatchObject({ running: true, url: ra.url });
      expect([ra.pid, rb.pid]).not.toContain(status.pid);
      const here = await ensureEmbeddedServer({ home });
      expect(here).toEqual({ url: ra.url, started: false });
      expect(await query(here.url, 'SELECT 1 AS one')).toEqual([{ one: 1 }]);
    },
    T,
  );
});

describe('a cluster left unfinished by a killed first run', () => {
  it(
    'is recreated instead of started with PostgreSQL defaults',
    async () => {
      const home = newHome('unfinished');
      // What a killed initdb leaves: PG_VERSION and some files, but no sluice include.
      await mkdir(path.join(home, 'pg', 'base'), { recursive: true, mode: 0o700 });
      await writeFile(path.join(home, 'pg', 'PG_VERSION'), '18\n');
      await writeFile(path.join(home, 'pg', 'postgresql.conf'), 'port = 5432\n');
      const progress: string[] = [];
      const r = await ensureEmbeddedServer({ home, onProgress: (m) => progress.push(m) });
      expect(r.started).toBe(true);
      expect(progress.some((m) => m.includes('removing the unfinished'))).toBe(true);
      expect(portOf(r.url)).not.toBe(5432);
      expect(await query(r.url, 'SELECT current_database() AS db')).toEqual([{ db: 'sluice' }]);
    },
    T,
  );
});

describe.runIf(isRoot)('as root', () => {
  it(
    'refuses, with the fix, a home the postgres OS user cannot reach',
    async () => {
      const closed = path.join(scratch, 'closed');
      await mkdir(closed, { mode: 0o700 });
      const home = newHome('closed/home');
      const failure = await ensureEmbeddedServer({ home }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(failure).toMatchObject({ code: 'EMBEDDED_PG_FAILED' });
      expect((failure as Error).message).toContain('SLUICE_HOME');
      expect(existsSync(path.join(home, 'pg'))).toBe(false);
    },
    T,
  );
});

/** Runs a node snippet to completion and returns its (now dead) pid. */
function runNode(code: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', code], { stdio: 'ignore' });
    child.on('error', reject);
    child.on('close', () => (child.pid ? resolve(child.pid) : reject(new Error('no pid'))));
  });
}
