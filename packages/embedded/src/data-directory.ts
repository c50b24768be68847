/**
 * The home directory (see embeddedHome) and the files in it: the state file, the password
 * file, the cluster's postmaster.pid, and small file helpers.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { isRoot, type RunAs } from './binaries.js';

export interface Layout {
  home: string;
  dataDir: string;
  runDir: string;
  passwordFile: string;
  stateFile: string;
  lockFile: string;
  logFile: string;
}

export interface EmbeddedState {
  port: number;
  pid?: number;
  version: string;
  host: string;
  startedAt?: string;
}

export function layout(home: string): Layout {
  const h = path.resolve(home);
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

export async function makeHome(home: string): Promise<void> {
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

export async function makeDir(dir: string, runAs: RunAs | undefined): Promise<void> {
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  if (runAs) await fs.chown(dir, runAs.uid, runAs.gid);
}

export async function touch(file: string, runAs: RunAs | undefined): Promise<void> {
  await (await fs.open(file, 'a', 0o600)).close();
  if (runAs) await fs.chown(file, runAs.uid, runAs.gid);
}

export async function exists(file: string): Promise<boolean> {
  try {
    await fs.access(file);
    return true;
  } catch {
    return false;
  }
}

export async function fileSize(file: string): Promise<number> {
  try {
    return (await fs.stat(file)).size;
  } catch {
    return 0;
  }
}

export async function readFrom(file: string, offset: number): Promise<string> {
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

export async function writeFileAtomic(file: string, text: string, mode: number): Promise<void> {
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  await fs.writeFile(tmp, text, { mode });
  await fs.rename(tmp, file);
}

export async function readPassword(l: Layout): Promise<string | undefined> {
  try {
    return (await fs.readFile(l.passwordFile, 'utf8')).trim() || undefined;
  } catch {
    return undefined;
  }
}

export async function readState(l: Layout): Promise<EmbeddedState | undefined> {
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

export async function writeState(l: Layout, state: EmbeddedState): Promise<void> {
  await writeFileAtomic(l.stateFile, `${JSON.stringify(state, null, 2)}\n`, 0o600);
}

/** The first lines of postmaster.pid: pid, data directory, start time, port. */
export async function readPostmasterPid(dataDir: string): Promise<{ pid: number; port: number } | undefined> {
  try {
    const lines = (await fs.readFile(path.join(dataDir, 'postmaster.pid'), 'utf8')).split('\n');
    const pid = Number.parseInt(lines[0] ?? '', 10);
    const port = Number.parseInt(lines[3] ?? '', 10);
    return pid > 0 && port > 0 ? { pid, port } : undefined;
  } catch {
    return undefined;
  }
}
