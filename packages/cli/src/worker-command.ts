import {
  commandLineSlurm,
  prepareOutputDirectory,
  resolveWorkerOptions,
  WORKER_DEFAULTS,
  Worker,
  type WorkerRequest,
  type WorkerSummary,
} from '@sluice/runner';
import type { Command } from 'commander';
import { globals, logErr, resolveDatabase, workflowIdArg } from './cli-context.js';
import { parseWorkerFlags, type RawWorkerFlags } from './cli-options.js';

const seconds = (ms: number) => String(ms / 1000);

export function addWorkerOptions(cmd: Command): Command {
  const d = WORKER_DEFAULTS;
  return cmd
    .option('--output-dir <dir>', 'where job output and logs go', d.outputDir)
    .option('--max-parallel-jobs <n>', 'run at most N jobs at once, ignoring resource requirements')
    .option('--num-cpus <n>', 'CPUs this worker offers (default: all cores)')
    .option('--memory <size>', 'memory this worker offers, e.g. 16g (default: all memory)')
    .option('--num-gpus <n>', 'GPUs this worker offers (default: 0)')
    .option('--time-limit <duration>', 'leave after this long; claim only jobs whose runtime fits (PT2H or seconds)')
    .option('--poll-interval <seconds>', 'fallback poll when no notification arrives', seconds(d.pollIntervalMs))
    .option('--heartbeat-interval <seconds>', 'how often the worker proves it is alive', seconds(d.heartbeatIntervalMs))
    .option(
      '--heartbeat-timeout <seconds>',
      'silence after which others declare this worker lost',
      seconds(d.heartbeatTimeoutMs),
    )
    .option(
      '--termination-grace <seconds>',
      'time between SIGTERM and SIGKILL when stopping jobs',
      seconds(d.terminationGraceMs),
    )
    .option('--scheduled-node-id <id>', 'the Slurm allocation (scheduled node) this worker runs in')
    .option(
      '--idle-timeout <seconds>',
      `leave after this long with nothing to do (default ${seconds(d.allocationIdleTimeoutMs)} in an allocation)`,
    )
    .option(
      '--end-buffer <seconds>',
      "claim no job that would end within this long of the allocation's end",
      String(d.endBufferSeconds),
    )
    .option('--one-worker-per-node', 'in an allocation, manage this node only (started by srun)')
    .option(
      '--wake <mode>',
      "listen: its own LISTEN connection (default); sse: the API server's event stream at $SLUICE_SERVER_URL, token in $SLUICE_API_TOKEN (behind a transaction pooler); poll: its poll alone (default: $SLUICE_WAKE)",
    );
}

/**
 * A worker that gave up on an unreachable database may still hold sockets to it that never
 * close: once it has said how it ended, the process leaves even so.
 */
export function exitSoon(): void {
  setTimeout(() => process.exit(), 5_000).unref();
}

/** Runs one worker in this process until its workflow is done, it is canceled, or a signal stops it. */
export async function runWorker(
  url: string,
  workflowId: number,
  request: WorkerRequest,
  debug: boolean,
): Promise<WorkerSummary> {
  const options = await resolveWorkerOptions(url, workflowId, request, commandLineSlurm);
  const worker = new Worker({
    ...options,
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
    const g = globals(cmd);
    const workflowId = workflowIdArg(id);
    const request = parseWorkerFlags(raw);
    await prepareOutputDirectory(request.outputDir ?? WORKER_DEFAULTS.outputDir);
    // The worker opens its own connections and checks the schema on them.
    const { url } = await resolveDatabase(g);
    const summary = await runWorker(url, workflowId, request, g.debug ?? false);
    logErr(`worker ${summary.workerId} finished (${summary.reason}) after running ${summary.jobsRun} job(s)`);
    // Inside an allocation, leaving because nothing left fits is the normal end, not a failure.
    const failed =
      summary.reason === 'lost' ||
      summary.reason === 'fenced' ||
      summary.reason === 'error' ||
      (summary.reason === 'nothing-runnable' && request.scheduledNodeId === undefined);
    if (failed) process.exitCode = 1;
    exitSoon();
  });
}
