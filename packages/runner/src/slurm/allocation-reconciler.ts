import { allocationsInSlurm, allocationsMarkEndedUnstarted, type SluiceDb } from '@sluice/core';
import type { SlurmClient, SlurmJobState } from './slurm-client.js';

/** squeue states of a job that has ended: it will run no worker now. */
const ENDED_STATES = new Set([
  'BOOT_FAIL',
  'CANCELLED',
  'COMPLETED',
  'DEADLINE',
  'FAILED',
  'NODE_FAIL',
  'OUT_OF_MEMORY',
  'PREEMPTED',
  'REVOKED',
  'SPECIAL_EXIT',
  'TIMEOUT',
]);

/**
 * Reasons Slurm keeps a job pending for that do not pass by waiting: the request breaks a
 * partition, account or QOS limit, or someone holds it (Slurm's job reason codes). Aggregate
 * limits (AssocGrp*, QOSGrp*), Priority, Resources and BeginTime pass.
 */
const NEVER_STARTS =
  /^(AccountNotAllowed|BadConstraints|DependencyNeverSatisfied|FrontEndDown|InvalidAccount|InvalidQOS|JobHeldAdmin|JobHeldUser|PartitionConfig|PartitionDown|PartitionInactive|PartitionNodeLimit|PartitionTimeLimit|QOSNotAllowed|AssocMax\w*|QOSMax\w*|Max\w*PerAccount)\b/;

/** A queued or running allocation as Slurm sees it now. */
export interface AllocationInSlurm {
  id: number;
  scheduler: string;
  slurmJobId: string;
  status: 'pending' | 'active';
  /** squeue's %T and %r; null when Slurm no longer shows the job */
  slurmState: string | null;
  slurmReason: string | null;
  /** pending for a reason that does not pass by waiting */
  neverStarts: boolean;
}

export interface AllocationReconciliation {
  /** the allocations still queued or running after reconciling */
  live: AllocationInSlurm[];
  /** queued allocations whose Slurm job ended before any worker started: now failed */
  ended: { id: number; slurmJobId: string; message: string }[];
  /** why Slurm could not be asked (squeue failed): nothing was changed */
  unavailable: string | null;
  /** what squeue said of each job it was asked about and still shows */
  states: Map<string, SlurmJobState>;
}

/**
 * Compares the workflow's queued and running allocations with what Slurm says, in one squeue
 * call. A queued allocation whose job has ended (canceled in Slurm, failed to launch) would
 * otherwise count as "queued" for ever and hide that nothing will run the workflow's jobs: it
 * is recorded as failed. Nothing is changed when squeue cannot answer.
 */
export async function allocationsReconcile(
  h: SluiceDb,
  workflowId: number,
  slurm: SlurmClient,
  /** more Slurm job ids to ask about in the same squeue call (finished allocations, to show) */
  alsoAsk: readonly string[] = [],
): Promise<AllocationReconciliation> {
  const rows = await allocationsInSlurm(h.db, workflowId);
  const ask = [...new Set([...rows.map((r) => r.slurm_job_id), ...alsoAsk])];
  if (ask.length === 0) return { live: [], ended: [], unavailable: null, states: new Map() };
  let states: Map<string, SlurmJobState>;
  try {
    states = await slurm.jobStates(ask);
  } catch (e) {
    const live = rows.map((r) => ({
      id: r.id,
      scheduler: r.scheduler,
      slurmJobId: r.slurm_job_id,
      status: r.status,
      slurmState: null,
      slurmReason: null,
      neverStarts: false,
    }));
    return { live, ended: [], unavailable: (e as Error).message, states: new Map() };
  }
  const live: AllocationInSlurm[] = [];
  const ended: AllocationReconciliation['ended'] = [];
  for (const r of rows) {
    const s = states.get(r.slurm_job_id);
    const state = s?.state.split(/[ +]/)[0] ?? null;
    if (r.status === 'pending' && (state === null || ENDED_STATES.has(state))) {
      const message =
        state === null
          ? `Slurm job ${r.slurm_job_id} ended before any worker of it started (squeue no longer shows it)`
          : `Slurm job ${r.slurm_job_id} ended (${state}) before any worker of it started`;
      if (await allocationsMarkEndedUnstarted(h.db, r.id, message)) {
        ended.push({ id: r.id, slurmJobId: r.slurm_job_id, message });
        continue;
      }
    }
    live.push({
      id: r.id,
      scheduler: r.scheduler,
      slurmJobId: r.slurm_job_id,
      status: r.status,
      slurmState: s?.state ?? null,
      slurmReason: s?.reason ?? null,
      neverStarts: state === 'PENDING' && NEVER_STARTS.test(s?.reason ?? ''),
    });
  }
  return { live, ended, unavailable: null, states };
}
