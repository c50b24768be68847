/** The cross-process lock that serializes starting and stopping the server of one home. */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import { setTimeout as delay } from 'node:timers/promises';
import type { Layout } from './data-directory.js';
import { fail } from './error-messages.js';

// A start or stop is over well within this; a lock older than that was left by a crash
// (possibly on another host, where its pid cannot be checked).
const LOCK_STALE_MS = 10 * 60_000;
const LOCK_WAIT_MS = 3 * 60_000;

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
export async function withLock<T>(l: Layout, progress: (msg: string) => void, fn: () => Promise<T>): Promise<T> {
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

function errnoCode(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException | undefined)?.code;
}
