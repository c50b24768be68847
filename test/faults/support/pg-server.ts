import { execFile } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { migrate } from '@sluice/core';
import pg from 'pg';

/** Debian's PostgreSQL 15 binaries (initdb, pg_ctl, postgres). */
export const PG_BIN = '/usr/lib/postgresql/15/bin';

export type ShutdownMode = 'fast' | 'immediate';

/** A free TCP port on 127.0.0.1 (bound, read, released: good enough for a test on one machine). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

interface RunAs {
  uid: number;
  gid: number;
}

function idOf(flag: '-u' | '-g', user: string): Promise<number> {
  return new Promise((resolve, reject) => {
    execFile('id', [flag, user], (err, stdout) => (err ? reject(err) : resolve(Number(stdout.trim()))));
  });
}

/** postgres refuses to run as root: as root, the server runs as the `postgres` OS user. */
async function runAsFor(): Promise<RunAs | null> {
  if (process.getuid?.() !== 0) return null;
  return { uid: await idOf('-u', 'postgres'), gid: await idOf('-g', 'postgres') };
}

function run(bin: string, args: string[], runAs: RunAs | null, timeoutMs = 120_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      path.join(PG_BIN, bin),
      args,
      { timeout: timeoutMs, ...(runAs ?? {}), env: { ...process.env, LC_ALL: 'C' } },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`${bin} ${args.join(' ')} failed: ${err.message}\n${stderr}`));
        else resolve(stdout);
      },
    );
  });
}

/**
 * A PostgreSQL server of the fault suite's own, in a temp directory, so that tests may stop,
 * restart and crash it: 127.0.0.1 on a free port, trust auth, fsync on.
 */
export class PgServer {
  private constructor(
    readonly dir: string,
    readonly port: number,
    private readonly runAs: RunAs | null,
  ) {}

  get dataDir(): string {
    return path.join(this.dir, 'data');
  }

  get logFile(): string {
    return path.join(this.dir, 'server.log');
  }

  /** URL of database `db` (the maintenance database `postgres` by default). */
  url(db = 'postgres'): string {
    return `postgres://postgres@127.0.0.1:${this.port}/${db}`;
  }

  static async create(opts: { maxConnections?: number } = {}): Promise<PgServer> {
    const runAs = await runAsFor();
    const dir = mkdtempSync(path.join(os.tmpdir(), 'sluice-faults-pg-'));
    const sock = path.join(dir, 'sock');
    mkdirSync(sock);
    if (runAs) {
      chownSync(dir, runAs.uid, runAs.gid);
      chownSync(sock, runAs.uid, runAs.gid);
    }
    const port = await freePort();
    const server = new PgServer(dir, port, runAs);
    await run(
      'initdb',
      ['-D', server.dataDir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C', '-N'],
      runAs,
    );
    const conf = [
      `port = ${port}`,
      "listen_addresses = '127.0.0.1'",
      `unix_socket_directories = '${sock}'`,
      `max_connections = ${opts.maxConnections ?? 200}`,
      'fsync = on',
      'shared_buffers = 64MB',
      'autovacuum = off',
      "log_min_messages = 'warning'",
    ];
    writeFileSync(path.join(server.dataDir, 'postgresql.auto.conf'), `${conf.join('\n')}\n`);
    if (runAs) chownSync(path.join(server.dataDir, 'postgresql.auto.conf'), runAs.uid, runAs.gid);
    await server.start();
    return server;
  }

  async start(): Promise<void> {
    if (this.runAs && !existsSync(this.logFile)) {
      writeFileSync(this.logFile, '');
      chownSync(this.logFile, this.runAs.uid, this.runAs.gid);
    }
    await run('pg_ctl', ['-D', this.dataDir, '-l', this.logFile, '-w', '-t', '120', 'start'], this.runAs);
  }

  async stop(mode: ShutdownMode = 'fast'): Promise<void> {
    await run('pg_ctl', ['-D', this.dataDir, '-m', mode, '-w', '-t', '120', 'stop'], this.runAs);
  }

  /** Stops the server (fast: sessions are terminated; immediate: a crash, recovery at start) and starts it again. */
  async restart(mode: ShutdownMode): Promise<void> {
    await this.stop(mode);
    await this.start();
  }

  /** Creates database `name` and applies the project's migrations to it. */
  async createMigratedDatabase(name: string): Promise<string> {
    const admin = new pg.Client({ connectionString: this.url() });
    await admin.connect();
    try {
      await admin.query(`CREATE DATABASE "${name}"`);
    } finally {
      await admin.end();
    }
    await migrate(this.url(name));
    return this.url(name);
  }

  async destroy(): Promise<void> {
    await this.stop('immediate').catch(() => {});
    if (!process.env.SLUICE_KEEP_FAULT_PG) rmSync(this.dir, { recursive: true, force: true });
  }
}
