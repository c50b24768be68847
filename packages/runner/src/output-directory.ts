import { mkdirSync, statSync } from 'node:fs';
import { access, constants, mkdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { SluiceError } from '@sluice/core';

const reason = (e: unknown) => {
  const err = e as NodeJS.ErrnoException;
  return err.code ? `${err.code} (${err.message.replace(/^[A-Z]+: /, '').replace(/, \w+ '.*'$/, '')})` : String(e);
};

const unusable = (dir: string, what: string, e: unknown) =>
  new SluiceError('OUTPUT_DIR_UNUSABLE', `output directory ${dir}: cannot ${what}: ${reason(e)}`);

/**
 * mkdir -p, one level at a time. Node's own `recursive` retries forever where a parent
 * refuses to take directories without saying why (anywhere under /proc, say).
 */
export async function makeDirectory(dir: string): Promise<void> {
  const full = path.resolve(dir);
  const levels: string[] = [];
  for (let d = full; ; d = path.dirname(d)) {
    levels.unshift(d);
    if (path.dirname(d) === d) break;
  }
  for (const d of levels) {
    try {
      await mkdir(d);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      if (!(await stat(d)).isDirectory())
        throw Object.assign(new Error(`${d} is not a directory`), { code: 'ENOTDIR' });
    }
  }
}

/** makeDirectory for the few callers that cannot wait (an sbatch script written just before sbatch). */
export function makeDirectorySync(dir: string): void {
  const full = path.resolve(dir);
  const levels: string[] = [];
  for (let d = full; path.dirname(d) !== d; d = path.dirname(d)) levels.unshift(d);
  for (const d of levels) {
    try {
      mkdirSync(d);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      if (!statSync(d).isDirectory()) throw Object.assign(new Error(`${d} is not a directory`), { code: 'ENOTDIR' });
    }
  }
}

/**
 * Makes the worker's output directory and its job_stdio, and checks that they can be written,
 * before anything is created in the database: a worker that cannot write its jobs' logs must
 * say so at once, in one line.
 */
export async function prepareOutputDirectory(dir: string): Promise<void> {
  const stdio = path.join(dir, 'job_stdio');
  try {
    await makeDirectory(stdio);
  } catch (e) {
    throw unusable(dir, `create ${stdio}`, e);
  }
  try {
    await access(stdio, constants.W_OK);
  } catch (e) {
    throw unusable(dir, `write in ${stdio}`, e);
  }
}
