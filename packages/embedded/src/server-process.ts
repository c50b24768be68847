/**
 * The server process: starting it through pg_ctl (under the lock), finding one that is
 * already running, choosing its port, and talking to it.
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import type { SluiceError } from '@sluice/core';
import pg from 'pg';
import {
  binaries,
  binaryVersion,
  checkReachable,
  isRoot,
  pidIsPostgres,
  run,
  SUPERUSER,
  serverUser,
} from './binaries.js';
import { clusterIsComplete, initCluster, writeServerConf } from './cluster-setup.js';
import {
  type EmbeddedState,
  exists,
  fileSize,
  type Layout,
  makeDir,
  readFrom,
  readPassword,
  readPostmasterPid,
  readState,
  touch,
  writeState,
} from './data-directory.js';
import { fail, reason } from './error-messages.js';

export const DATABASE = 'sluice';
// Never 5432: a site server may hold it. A stable per-home port keeps the URL the same
// across restarts; homes of different users on one login node spread over the range.
const BASE_PORT = 54320;
const PORT_SPREAD = 100;
export const START_TIMEOUT_S = 60;
const CONNECT_TIMEOUT_MS = 3_000;

export function urlFor(port: number, password: string): string {
  // sslmode=disable: the server has no TLS, and a PGSSLMODE=require meant for a site server
  // would otherwise make every connection fail.
  return `postgres://${SUPERUSER}:${encodeURIComponent(password)}@127.0.0.1:${port}/${DATABASE}?sslmode=disable`;
}

// ---------------------------------------------------------------------------------------------
// Starting

export async function startLocked(
  l: Layout,
  progress: (msg: string) => void,
): Promise<{ url: string; started: boolean }> {
  const state = await readState(l);
  let password = await readPassword(l);

  const already = await findRunning(l, state, password);
  if (already && password) {
    // Started by a process we waited for, or running while the state file was lost.
    await ensureDatabase(already.port, password);
    await writeState(l, {
      ...(state ?? { version: 'unknown' }),
      port: already.port,
      pid: already.pid,
      host: os.hostname(),
    });
    return { url: urlFor(already.port, password), started: false };
  }

  const bins = await binaries();
  const runAs = isRoot() ? await serverUser(progress) : undefined;
  await makeDir(l.runDir, runAs);
  if (runAs) await checkReachable(l, bins, runAs);
  const version = await binaryVersion(bins);

  const pgVersionFile = path.join(l.dataDir, 'PG_VERSION');
  if (!(await clusterIsComplete(l)) && (await exists(l.dataDir))) {
    // initdb or our setup after it was killed. Such a cluster was never started by us, so it
    // holds no data; started as it is, it would take PostgreSQL's defaults (port 5432, socket
    // in /tmp with trust auth).
    progress(`removing the unfinished embedded PostgreSQL cluster in ${l.dataDir}`);
    await fs.rm(l.dataDir, { recursive: true, force: true });
  }
  if (await exists(pgVersionFile)) {
    const dataMajor = (await fs.readFile(pgVersionFile, 'utf8')).trim();
    if (dataMajor !== version.split('.')[0]) {
      throw fail(
        `${l.dataDir} holds a PostgreSQL ${dataMajor} cluster but the embedded binaries are PostgreSQL ${version}; upgrade it with pg_upgrade or remove ${l.dataDir}`,
      );
    }
    if (!password) {
      throw fail(
        `${l.passwordFile} is missing, so the cluster in ${l.dataDir} cannot be reached; remove ${l.dataDir} to start afresh`,
      );
    }
  } else {
    password = await initCluster(l, bins, runAs, password, progress);
  }

  // The log must be writable by the server's OS user, which pg_ctl's shell opens it as.
  await touch(l.logFile, runAs);
  const tried = new Set<number>();
  const preferred = [state?.port, stablePort(l.home)];
  for (let attempt = 0; ; attempt++) {
    const port = await pickPort(preferred, tried);
    await writeServerConf(l, port, runAs);
    progress(`starting the embedded PostgreSQL server on 127.0.0.1:${port}`);
    const logStart = await fileSize(l.logFile);
    const r = await run(
      bins.pg_ctl,
      ['start', '-D', l.dataDir, '-l', l.logFile, '-w', '-t', String(START_TIMEOUT_S), '-s'],
      // detached: belt and braces with pg_ctl's own setsid, so a Ctrl-C aimed at the
      // command never reaches the server.
      { cwd: l.home, runAs, detached: true },
    );
    if (r.code === 0) {
      const pm = await readPostmasterPid(l.dataDir);
      await ensureDatabase(port, password);
      await writeState(l, {
        port,
        ...(pm ? { pid: pm.pid } : {}),
        version,
        host: os.hostname(),
        startedAt: new Date().toISOString(),
      });
      return { url: urlFor(port, password), started: true };
    }
    const log = await readFrom(l.logFile, logStart);
    // Someone took the port between our check and the server's bind: take another.
    if (/could not bind|address already in use|could not create any TCP\/IP sockets/i.test(log) && attempt < 4) {
      tried.add(port);
      continue;
    }
    throw fail(`the embedded PostgreSQL server did not start: ${reason(`${r.output}\n${log}`)} (log: ${l.logFile})`);
  }
}

/**
 * A server already holding the data directory: one another process started while we waited
 * for the lock, or one whose state file was lost. Waits while it is starting up (crash
 * recovery can take a while); undefined when no live server holds the directory.
 */
async function findRunning(
  l: Layout,
  state: EmbeddedState | undefined,
  password: string | undefined,
): Promise<{ port: number; pid: number } | undefined> {
  const pm = await readPostmasterPid(l.dataDir);
  if (!pm) return undefined;
  // On a home shared between hosts (NFS), a pid from another host means nothing here, and
  // postgres would take its postmaster.pid for stale and start a second server on the same
  // files, corrupting them.
  if (state && state.host !== os.hostname()) throw otherHost(l, state, pm.pid);
  if (!pidIsPostgres(pm.pid)) return undefined;
  if (!password) {
    throw fail(
      `${l.passwordFile} is missing, so the running server (pid ${pm.pid}) cannot be reached; stop it with "sluice db stop"`,
    );
  }
  const deadline = Date.now() + START_TIMEOUT_S * 1000;
  while (pidIsPostgres(pm.pid)) {
    if (await probe(pm.port, password, 'postgres', l.dataDir)) return pm;
    if (Date.now() > deadline) {
      throw fail(
        `an embedded PostgreSQL server (pid ${pm.pid}) holds ${l.dataDir} but does not answer on port ${pm.port}; stop it with "sluice db stop" (log: ${l.logFile})`,
      );
    }
    await delay(250);
  }
  return undefined;
}

export function otherHost(l: Layout, state: EmbeddedState, pid: number): SluiceError {
  return fail(
    `the embedded PostgreSQL server of ${l.home} was started on host ${state.host} (pid ${pid}); stop it there with "sluice db stop", or if that host is down remove ${path.join(l.dataDir, 'postmaster.pid')}, or set SLUICE_HOME or --database-url`,
  );
}

// ---------------------------------------------------------------------------------------------
// Port choice

function stablePort(home: string): number {
  const h = createHash('sha256').update(home).digest().readUInt32BE(0);
  return BASE_PORT + (h % PORT_SPREAD);
}

async function pickPort(preferred: (number | undefined)[], tried: Set<number>): Promise<number> {
  for (const p of preferred) {
    if (p && p !== 5432 && !tried.has(p) && (await portIsFree(p))) return p;
  }
  for (;;) {
    const p = await freePort();
    if (p !== 5432 && !tried.has(p)) return p;
  }
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen({ host: '127.0.0.1', port, exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen({ host: '127.0.0.1', port: 0, exclusive: true }, () => {
      const addr = srv.address();
      srv.close(() => (addr && typeof addr === 'object' ? resolve(addr.port) : reject(new Error('no free port'))));
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Talking to the server

function newClient(port: number, password: string, database: string): pg.Client {
  const client = new pg.Client({
    host: '127.0.0.1',
    port,
    user: SUPERUSER,
    password,
    database,
    ssl: false,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
  });
  // A server going away mid-probe emits 'error' on the client; the probe already fails.
  client.on('error', () => {});
  return client;
}

/**
 * True when our server answers on the port. The random password proves it is this home's
 * cluster; the data directory check also rules out a copied home.
 */
export async function probe(port: number, password: string, database: string, dataDir: string): Promise<boolean> {
  const client = newClient(port, password, database);
  try {
    await client.connect();
    const res = await client.query<{ dir: string }>("SELECT current_setting('data_directory') AS dir");
    const dir = res.rows[0]?.dir;
    if (dir === dataDir) return true;
    if (!dir) return false;
    const [a, b] = await Promise.all([fs.realpath(dir).catch(() => dir), fs.realpath(dataDir).catch(() => dataDir)]);
    return a === b;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

async function ensureDatabase(port: number, password: string): Promise<void> {
  const client = newClient(port, password, 'postgres');
  try {
    await client.connect();
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [DATABASE]);
    if (found.rowCount === 0) await client.query(`CREATE DATABASE ${client.escapeIdentifier(DATABASE)}`);
  } finally {
    await client.end().catch(() => {});
  }
}
