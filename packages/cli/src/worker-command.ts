import { detectSlurmAllocation, Worker, type WorkerSummary } from '@sluice/runner';
import type { Command } from 'commander';
import { type GlobalOptions, logErr, openDatabase } from './cli-context.js';
import { parseFlag, parseWorkerFlags, type RawWorkerFlags, type WorkerFlags, WorkflowId } from './cli-options.js';

export function addWorkerOptions(cmd: Command): Command {
  return cmd
    .option('--output-dir <dir>', 'where job output and logs go', 'output')
    .option('--max-parallel-jobs <n>', 'run at most N jobs at once, ignoring resource requirements')
    .option('--num-cpus <n>', 'CPUs this worker offers (default: all cores)')
    .option('--memory <size>', 'memory this worker offers, e.g. 16g (default: all memory)')
    .option('--num-gpus <n>', 'GPUs this worker offers (default: 0)')
    .option('--time-limit <duration>', 'leave after this long; claim only jobs whose runtime fits (PT2H or seconds)')
    .option('--poll-interval <seconds>', 'fallback poll when no notification arrives', '10')
    .option('--heartbeat-interval <seconds>', 'how often the worker proves it is alive', '5')
    .option('--heartbeat-timeout <seconds>', 'silence after which others declare this worker lost', '60')
    .option('--termination-grace <seconds>', 'time between SIGTERM and SIGKILL when stopping jobs', '10')
    .option('--scheduled-node-id <id>', 'the Slurm allocation (scheduled node) this worker runs in')
    .option('--idle-timeout <seconds>', 'leave after this long with nothing to do (default 300 in an allocation)')
    .option('--end-buffer <seconds>', "claim no job that would end within this long of the allocation's end", '60')
    .option('--one-worker-per-node', 'in an allocation, manage this node only (started by srun)');
}

/** Runs one worker in this process until its workflow is done, it is canceled, or a signal stops it. */
export async function runWorker(
  url: string,
  workflowId: number,
  flags: WorkerFlags,
  debug: boolean,
): Promise<WorkerSummary> {
  // Inside a Slurm allocation the resources and the end time come from Slurm unless given.
  const slurm = flags.scheduledNodeId ? detectSlurmAllocation(process.env, flags.oneWorkerPerNode) : null;
  const endsAt = slurm?.endsAt ? new Date(slurm.endsAt.getTime() - flags.endBufferSeconds * 1000) : null;
  const worker = new Worker({
    url,
    workflowId,
    ...flags,
    numCpus: flags.numCpus ?? slurm?.numCpus,
    memoryBytes: flags.memoryBytes ?? slurm?.memoryBytes,
    numGpus: flags.numGpus ?? slurm?.numGpus,
    numNodes: slurm?.numNodes,
    endsAt,
    idleTimeoutMs: flags.idleTimeoutMs ?? (flags.scheduledNodeId ? 300_000 : null),
    log: (level, msg) => {
      if (level !== 'debug' || debug) logErr(`[worker ${level}] ${msg}`);
    },
  });
  const onSignal = (sig: NodeJS.Signals) => {
    logErr(`received ${sig}: stopping`);
    worker.requestStop('signal');
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  try {
    return await worker.run();
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  }
}

export function registerWorkerCommand(program: Command): void {
  addWorkerOptions(
    program.command('worker <workflow-id>').description('run jobs of a workflow on this machine until it is done'),
  ).action(async (id: string, raw: RawWorkerFlags, cmd: Command) => {
    const g = cmd.optsWithGlobals<GlobalOptions>();
    const workflowId = parseFlag(WorkflowId, 'workflow-id', id);
    const flags = parseWorkerFlags(raw);
    const handle = await openDatabase(g);
    const url = handle.url;
    await handle.close();
    const summary = await runWorker(url, workflowId, flags, g.debug ?? false);
    logErr(`worker ${summary.workerId} finished (${summary.reason}) after running ${summary.jobsRun} job(s)`);
    // Inside an allocation, leaving because nothing left fits is the normal end, not a failure.
    const failed =
      summary.reason === 'lost' ||
      summary.reason === 'error' ||
      (summary.reason === 'nothing-runnable' && !flags.scheduledNodeId);
    if (failed) process.exitCode = 1;
  });
}
