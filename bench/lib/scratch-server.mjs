// A private PostgreSQL server for a benchmark that the shared one cannot hold (figure 9 needs
// more than 100 connections; the shared server allows 100 for everyone). The same major version
// (from /usr/lib/postgresql/<major>/bin) and the shared server's settings except max_connections;
// initdb'd in a temporary directory, stopped and removed afterwards.
// As root, it runs as the `postgres` OS user (postgres refuses to run as root).
import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

function findBinDir(version) {
  const major = String(version).split('.')[0];
  const candidates = [`/usr/lib/postgresql/${major}/bin`, ...listBinDirs()];
  const dir = candidates.find((d) => existsSync(path.join(d, 'initdb')) && existsSync(path.join(d, 'pg_ctl')));
  if (!dir) throw new Error(`no PostgreSQL ${major} initdb/pg_ctl found (looked in ${candidates.join(', ')})`);
  return dir;
}

function listBinDirs() {
  try {
    return readdirSync('/usr/lib/postgresql').map((v) => `/usr/lib/postgresql/${v}/bin`);
  } catch {
    return [];
  }
}

const freePort = () =>
  new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

// Settings copied from the shared server, so that the private one differs only in connections.
const COPIED = ['shared_buffers', 'fsync', 'synchronous_commit', 'autovacuum', 'work_mem', 'max_wal_size'];
const pgValue = (v) => String(v).replace(/ MB$/, 'MB');

export class ScratchServer {
  constructor({ settingsFrom, version, maxConnections, log = () => {} }) {
    this.settingsFrom = settingsFrom;
    this.version = version;
    this.maxConnections = maxConnections;
    this.log = log;
    this.started = false;
  }

  run(bin, args) {
    const asRoot = process.getuid?.() === 0;
    const cmd = asRoot ? 'runuser' : path.join(this.binDir, bin);
    const argv = asRoot ? ['-u', 'postgres', '--', path.join(this.binDir, bin), ...args] : args;
    const r = spawnSync(cmd, argv, { encoding: 'utf8', cwd: '/' });
    if (r.status !== 0)
      throw new Error(`${bin} ${args.join(' ')} failed: ${(r.stderr || r.stdout || '').trim().slice(-1500)}`);
    return r.stdout;
  }

  async start() {
    this.binDir = findBinDir(this.version ?? '15');
    this.dir = mkdtempSync(path.join(os.tmpdir(), 'sluice-bench-pg-'));
    if (process.getuid?.() === 0) {
      const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
      const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
      chownSync(this.dir, uid, gid);
    }
    this.port = await freePort();
    const data = path.join(this.dir, 'data');
    this.log(`  starting a private PostgreSQL on port ${this.port} (max_connections ${this.maxConnections})`);
    this.run('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8']);
    const opts = [
      `-c port=${this.port}`,
      "-c listen_addresses='127.0.0.1'",
      `-c unix_socket_directories='${this.dir}'`,
      `-c max_connections=${this.maxConnections}`,
      ...COPIED.filter((k) => this.settingsFrom[k] !== undefined).map(
        (k) => `-c ${k}=${pgValue(this.settingsFrom[k])}`,
      ),
    ].join(' ');
    this.run('pg_ctl', ['-D', data, '-l', path.join(this.dir, 'server.log'), '-o', opts, '-w', '-t', '60', 'start']);
    this.started = true;
    this.adminUrl = `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  async stop() {
    if (this.started) this.run('pg_ctl', ['-D', path.join(this.dir, 'data'), '-m', 'fast', '-w', 'stop']);
    this.started = false;
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
  }
}
