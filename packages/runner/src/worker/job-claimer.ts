import {
  actionsClaimable,
  type JobRow,
  jobsAnyRunnable,
  jobsClaimReady,
  MAIN_LOOP_TRIGGER_TYPES,
  type SluiceDb,
  workersReap,
  workflowsGetState,
} from '@sluice/core';
import type { JobRunner } from './job-runner.js';

export type IdleExitReason = 'complete' | 'canceled' | 'nothing-runnable' | 'action-pending';

export interface WorkerResources {
  numCpus: number;
  memoryBytes: number;
  numGpus: number;
  numNodes: number;
}

export interface ClaimResult {
  jobs: JobRow[];
  /** the claim was cut short by its batch size: more may fit now */
  more: boolean;
}

export interface JobClaimerContext {
  handle: SluiceDb;
  workerId: () => number;
  workflowId: number;
  /** run at most this many jobs at once, ignoring resources */
  maxParallelJobs: number | null;
  claimBatchSize: number;
  /** in a Slurm allocation: leave as soon as nothing left fits */
  inAllocation: boolean;
  resources: WorkerResources;
  /** when the worker must be gone, or null */
  endsAt: () => Date | null;
  jobs: JobRunner;
  log: (level: 'info' | 'warn' | 'error' | 'debug', msg: string) => void;
  /** silent workers were declared lost here: their jobs may be claimable now */
  onReaped: () => void;
}

/** What a worker may claim (its free resources, its time left), and when nothing is left for it. */
export class JobClaimer {
  constructor(private readonly ctx: JobClaimerContext) {}

  remainingSeconds(): number | null {
    const endsAt = this.ctx.endsAt();
    return endsAt ? Math.max(0, Math.floor((endsAt.getTime() - Date.now()) / 1000)) : null;
  }

  /**
   * Claims what fits now: jobs up to --max-parallel-jobs, else what the free resources hold.
   * `more` is false when the claim took fewer jobs than it asked for: it then saw every ready job
   * that fits, and another claim before a job ends or a notification arrives would find nothing.
   */
  async claim(): Promise<ClaimResult> {
    const c = this.ctx;
    const base = { workerId: c.workerId(), maxRuntimeSeconds: this.remainingSeconds() };
    if (c.maxParallelJobs) {
      const limit = Math.min(c.maxParallelJobs - c.jobs.running.size, c.claimBatchSize);
      if (limit <= 0) return { jobs: [], more: false };
      const jobs = await jobsClaimReady(c.handle.db, {
        ...base,
        limit,
        useResources: false,
        freeCpus: 0,
        freeMemoryBytes: 0,
        freeGpus: 0,
        freeNodes: 0,
      });
      return { jobs, more: jobs.length >= limit };
    }
    const used = c.jobs.used();
    const free = {
      cpus: c.resources.numCpus - used.cpus,
      mem: c.resources.memoryBytes - used.memoryBytes,
      gpus: c.resources.numGpus - used.gpus,
      nodes: c.resources.numNodes - used.nodes,
    };
    if (free.cpus < 0 || free.mem < 0 || free.nodes < 0) return { jobs: [], more: false };
    const jobs = await jobsClaimReady(c.handle.db, {
      ...base,
      limit: c.claimBatchSize,
      useResources: true,
      freeCpus: free.cpus,
      freeMemoryBytes: free.mem,
      freeGpus: free.gpus,
      freeNodes: free.nodes,
    });
    return { jobs, more: jobs.length >= c.claimBatchSize };
  }

  /**
   * Why an idle worker should leave: the workflow is complete or canceled, or nothing left could
   * ever run here; 'action-pending' while an action it could run is pending; null to wait on.
   */
  async idleExitReason(): Promise<IdleExitReason | null> {
    const c = this.ctx;
    // An idle tick is one transaction: behind a transaction-mode pooler each one waits for a
    // server connection, with every other idle worker's.
    const first = await this.idleState();
    if (first === null || first === 'action-pending' || first === 'canceled') return first;
    // Before leaving, declare silent workers lost: the jobs and actions they held may be this
    // worker's to run (an on_workflow_complete a dead worker had claimed, above all).
    // What it gave back becomes ready through this worker's own connection, whose jobs_ready
    // notifications the worker ignores: say so (claim-hints.ts).
    if ((await workersReap(c.handle.db, c.workflowId)) > 0) c.onReaped();
    const why = await this.idleState();
    if (why === 'nothing-runnable') {
      const r = c.resources;
      c.log(
        'warn',
        `no remaining job of workflow ${c.workflowId} fits this worker (${r.numCpus} cpus, ` +
          `${r.memoryBytes} bytes, ${r.numGpus} gpus, time left ${this.remainingSeconds() ?? 'unlimited'} s)`,
      );
    }
    return why;
  }

  private async idleState(): Promise<IdleExitReason | null> {
    const c = this.ctx;
    const r = c.resources;
    // The counts and the runnable check from one snapshot: read apart, another worker's
    // completion between them (no job active yet) and its claim of the job that completion
    // made ready (no job runnable any more) looked like nothing left for this worker.
    return c.handle.db
      .transaction()
      .setIsolationLevel('repeatable read')
      .execute(async (trx): Promise<IdleExitReason | null> => {
        if (await actionsClaimable(trx, c.workerId(), MAIN_LOOP_TRIGGER_TYPES)) return 'action-pending';
        const wf = await workflowsGetState(trx, c.workflowId);
        if (wf.is_canceled) return 'canceled';
        if (wf.run_id > 0 && wf.unfinished_jobs === 0) return 'complete';
        const runnable = await jobsAnyRunnable(
          trx,
          c.workerId(),
          c.maxParallelJobs
            ? null
            : { cpus: r.numCpus, memoryBytes: r.memoryBytes, gpus: r.numGpus, nodes: r.numNodes },
          this.remainingSeconds(),
        );
        // An allocation leaves as soon as nothing left could run on it, so as not to hold nodes;
        // a plain worker waits for jobs running elsewhere, whose dependents may fit it.
        return !runnable && (c.inAllocation || wf.active_jobs === 0) ? 'nothing-runnable' : null;
      });
  }
}
