/**
 * The cluster in <home>/pg: created by initdb on first use, with sluice's own settings in a
 * sluice.conf of its own that is rewritten at every start.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { type Binaries, type RunAs, type RunResult, run, SUPERUSER } from './binaries.js';
import { type Layout, makeDir, writeFileAtomic } from './data-directory.js';
import { fail, reason } from './error-messages.js';

// sun_path is 108 bytes on Linux and 104 on macOS, counting the final NUL.
const MAX_SOCKET_PATH = 103;

export async function initCluster(
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

export async function clusterIsComplete(l: Layout): Promise<boolean> {
  try {
    return (await fs.readFile(path.join(l.dataDir, 'postgresql.conf'), 'utf8')).includes(INCLUDE_LINE);
  } catch {
    return false;
  }
}

export async function writeServerConf(l: Layout, port: number, runAs: RunAs | undefined): Promise<void> {
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
