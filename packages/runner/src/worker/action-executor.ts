import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, writeSync } from 'node:fs';
import path from 'node:path';
import {
  type ActionRunOutcome,
  allocationsCreate,
  allocationsMarkFailed,
  allocationsMarkSubmitted,
  allocationsMarkUnknown,
  type ClaimedAction,
  type SluiceDb,
  slurmSchedulersGet,
} from '@sluice/core';
import { makeDirectory } from '../output-directory.js';
import { allocationComment, allocationJobName, writeAllocationScript } from '../slurm/allocation-script.js';
import { submitAllocation } from '../slurm/allocation-submitter.js';
import type { SlurmClient } from '../slurm/slurm-client.js';

export interface ActionContext {
  workflowId: number;
  workerId: number;
  outputDir: string;
  handle: SluiceDb;
  /** absolute paths of node and the sluice CLI, for the workers of Slurm allocations */
  nodePath: string;
  cliPath: string;
  slurm: SlurmClient;
  /** aborted when the worker must stop the action (a signal, or it fenced itself) */
  signal?: AbortSignal;
  /** after SIGTERM to a stopped action's command, how long before SIGKILL */
  terminationGraceMs?: number;
}

/**
 * One command in a process group of its own, so that stopping the action stops everything the
 * command started: SIGTERM on abort, SIGKILL after the grace.
 */
function runCommand(
  command: string,
  cwd: string,
  env: NodeJS.ProcessEnv,
  out: number,
  err: number,
  ctx: ActionContext,
): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn('bash', ['-c', command], { cwd, env, stdio: ['ignore', out, err], detached: true });
    const killGroup = (sig: NodeJS.Signals) => {
      if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
      try {
        process.kill(-child.pid, sig);
      } catch {
        // The group is already gone.
      }
    };
    let grace: NodeJS.Timeout | undefined;
    const onAbort = () => {
      killGroup('SIGTERM');
      grace = setTimeout(() => killGroup('SIGKILL'), ctx.terminationGraceMs ?? 10_000);
    };
    ctx.signal?.addEventListener('abort', onAbort, { once: true });
    const done = (code: number) => {
      ctx.signal?.removeEventListener('abort', onAbort);
      if (grace) clearTimeout(grace);
      resolve(code);
    };
    child.once('error', () => done(127));
    child.once('exit', (code, signal) => done(code ?? (signal ? 128 + 15 : 1)));
  });
}

/**
 * The action's two log files. The directory is made only when it is missing: making it level by
 * level (a mkdir and a stat each) was a millisecond or two before every action's first command.
 */
async function openLogs(logDir: string, stdoutPath: string, stderrPath: string): Promise<[number, number]> {
  const open = (): [number, number] => {
    const out = openSync(stdoutPath, 'w');
    try {
      return [out, openSync(stderrPath, 'w')];
    } catch (e) {
      closeSync(out);
      throw e;
    }
  };
  try {
    return open();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  await makeDirectory(logDir);
  return open();
}

/**
 * run_commands: one bash after another, in the workflow's output directory; the first that exits
 * non-zero stops the action, which fails (the workflow goes on: actions have no rollback or retry).
 */
async function runCommands(action: ClaimedAction, ctx: ActionContext): Promise<ActionRunOutcome> {
  const outputDir = path.resolve(ctx.outputDir);
  const logDir = path.join(outputDir, 'action_logs');
  const base = path.join(logDir, `wf${ctx.workflowId}_action${action.action_id}_run${action.run_id}`);
  const stdoutPath = `${base}.o`;
  const stderrPath = `${base}.e`;
  const [out, err] = await openLogs(logDir, stdoutPath, stderrPath);
  const env = {
    ...process.env,
    SLUICE_WORKFLOW_ID: String(ctx.workflowId),
    SLUICE_ACTION_ID: String(action.action_id),
    SLUICE_WORKER_ID: String(ctx.workerId),
    SLUICE_OUTPUT_DIR: outputDir,
    SLUICE_TRIGGER_TYPE: action.trigger_type,
  };
  try {
    for (const command of action.commands ?? []) {
      if (ctx.signal?.aborted) {
        writeSync(err, `sluice: stopped before: ${command}\n`);
        return {
          succeeded: false,
          exitCode: null,
          failedCommand: command,
          message: 'stopped by the worker before it finished',
          stdoutPath,
          stderrPath,
        };
      }
      const code = await runCommand(command, outputDir, env, out, err, ctx);
      if (ctx.signal?.aborted) {
        writeSync(err, `sluice: stopped (exit ${code}): ${command}\n`);
        return {
          succeeded: false,
          exitCode: code,
          failedCommand: command,
          message: 'stopped by the worker before it finished',
          stdoutPath,
          stderrPath,
        };
      }
      if (code !== 0) {
        writeSync(err, `sluice: command exited with ${code}: ${command}\n`);
        return {
          succeeded: false,
          exitCode: code,
          failedCommand: command,
          message: `command exited with ${code}`,
          stdoutPath,
          stderrPath,
        };
      }
    }
    return { succeeded: true, exitCode: 0, failedCommand: null, message: null, stdoutPath, stderrPath };
  } finally {
    closeSync(out);
    closeSync(err);
  }
}

/**
 * schedule_nodes: num_allocations sbatch submissions, each with its scheduled-node row written
 * first. The database URL goes to the allocation through the environment sbatch exports. An
 * allocation whose job sbatch may have created is never submitted twice (submitAllocation).
 */
async function scheduleNodes(action: ClaimedAction, ctx: ActionContext): Promise<ActionRunOutcome> {
  const db = ctx.handle.db;
  const scheduler = await slurmSchedulersGet(db, action.scheduler_id as number);
  const submitted: string[] = [];
  const unknown: number[] = [];
  let failure: string | null = null;
  for (let i = 0; i < (action.num_allocations ?? 1); i++) {
    const nodeId = await allocationsCreate(db, {
      workflowId: ctx.workflowId,
      schedulerId: scheduler.id,
      actionId: action.action_id,
      actionRunId: action.run_id,
      numNodes: scheduler.nodes ?? 1,
      startOneWorkerPerNode: action.start_one_worker_per_node,
      maxParallelJobs: action.max_parallel_jobs,
    });
    const identity = {
      jobName: allocationJobName(ctx.workflowId, scheduler.workflow_name),
      comment: allocationComment(nodeId, randomBytes(4).toString('hex')),
    };
    const script = writeAllocationScript({
      workflowId: ctx.workflowId,
      scheduledNodeId: nodeId,
      scheduler,
      outputDir: ctx.outputDir,
      startOneWorkerPerNode: action.start_one_worker_per_node,
      maxParallelJobs: action.max_parallel_jobs,
      nodePath: ctx.nodePath,
      cliPath: ctx.cliPath,
      comment: identity.comment,
    });
    const outcome = await submitAllocation(ctx.slurm, {
      script,
      env: { ...process.env, SLUICE_DATABASE_URL: ctx.handle.url },
      identity,
      signal: ctx.signal,
    });
    if (outcome.kind === 'submitted') {
      await allocationsMarkSubmitted(db, nodeId, outcome.jobId, script, outcome.note);
      submitted.push(outcome.jobId);
    } else if (outcome.kind === 'unknown') {
      await allocationsMarkUnknown(db, nodeId, outcome.message, script);
      unknown.push(nodeId);
    } else {
      failure = outcome.message;
      await allocationsMarkFailed(db, nodeId, failure, script);
    }
  }
  if (failure !== null) {
    return {
      succeeded: false,
      exitCode: null,
      failedCommand: 'sbatch',
      message: `sbatch failed: ${failure}`,
      stdoutPath: null,
      stderrPath: null,
    };
  }
  // An unknown allocation most likely exists (sbatch said it succeeded): not a failure, but said.
  const said = [
    ...(submitted.length ? [`submitted Slurm job(s) ${submitted.join(', ')}`] : []),
    ...(unknown.length
      ? [`allocation(s) ${unknown.join(', ')} unknown: sbatch gave no job id that Sluice could read or find`]
      : []),
  ];
  return {
    succeeded: true,
    exitCode: 0,
    failedCommand: null,
    message: said.join('; '),
    stdoutPath: null,
    stderrPath: null,
  };
}

export async function executeAction(action: ClaimedAction, ctx: ActionContext): Promise<ActionRunOutcome> {
  try {
    return action.action_type === 'run_commands' ? await runCommands(action, ctx) : await scheduleNodes(action, ctx);
  } catch (e) {
    return {
      succeeded: false,
      exitCode: null,
      failedCommand: null,
      message: `could not run the action: ${e instanceof Error ? e.message : String(e)}`,
      stdoutPath: null,
      stderrPath: null,
    };
  }
}
