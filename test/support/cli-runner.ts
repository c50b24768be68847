import { fileURLToPath } from 'node:url';
import { type ProcessResult, type SpawnedProcess, spawnProcess } from './process-runner.js';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const CLI = fileURLToPath(new URL('../../packages/cli/dist/bundle/sluice.mjs', import.meta.url));

export type CliResult = ProcessResult;

export interface CliOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  input?: string;
}

/** Runs the built `sluice` command as a user would. */
export function runCli(args: string[], opts: CliOptions = {}): Promise<CliResult> {
  return spawnCli(args, opts).exited;
}

export type SpawnedCli = SpawnedProcess;

/** Starts `sluice` in the background (a worker, say) and keeps its output. */
export function spawnCli(args: string[], opts: CliOptions = {}): SpawnedCli {
  return spawnProcess(process.execPath, [CLI, ...args], {
    cwd: opts.cwd ?? REPO_ROOT,
    env: { ...process.env, ...opts.env },
  });
}

/** Polls a condition without fixed sleeps dominating: short waits, bounded overall. */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined | null | false>,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let delay = 20;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 250);
  }
}
