import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import path from 'node:path';
import type { ActionRunOutcome, ClaimedAction } from '@sluice/core';

export interface ActionContext {
  workflowId: number;
  workerId: number;
  outputDir: string;
}

function runCommand(command: string, cwd: string, env: NodeJS.ProcessEnv, out: number, err: number): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn('bash', ['-c', command], { cwd, env, stdio: ['ignore', out, err] });
    child.once('error', () => resolve(127));
    child.once('exit', (code, signal) => resolve(code ?? (signal ? 128 + 15 : 1)));
  });
}

/**
 * run_commands: one bash after another, in the workflow's output directory; the first that exits
 * non-zero stops the action, which fails (the workflow goes on: actions have no rollback or retry).
 */
async function runCommands(action: ClaimedAction, ctx: ActionContext): Promise<ActionRunOutcome> {
  const outputDir = path.resolve(ctx.outputDir);
  const logDir = path.join(outputDir, 'action_logs');
  mkdirSync(logDir, { recursive: true });
  const base = path.join(logDir, `wf${ctx.workflowId}_action${action.action_id}_run${action.run_id}`);
  const stdoutPath = `${base}.o`;
  const stderrPath = `${base}.e`;
  const out = openSync(stdoutPath, 'w');
  const err = openSync(stderrPath, 'w');
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
      const code = await runCommand(command, outputDir, env, out, err);
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

export async function executeAction(action: ClaimedAction, ctx: ActionContext): Promise<ActionRunOutcome> {
  try {
    if (action.action_type === 'run_commands') return await runCommands(action, ctx);
    // Slurm submission is the subject of its own issue; until then the run is recorded as failed
    // with the reason, so that it is visible rather than silently skipped.
    return {
      succeeded: false,
      exitCode: null,
      failedCommand: null,
      message: 'schedule_nodes: Slurm submission is not available in this version of sluice',
      stdoutPath: null,
      stderrPath: null,
    };
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
