import {
  actionRunsFinish,
  actionsClaimable,
  actionsClaimPending,
  type ClaimedAction,
  jobsClaimReady,
  jobsComplete,
  type ResolvedWorkflow,
  type SluiceDb,
  type TriggerType,
  workersReap,
  workersStop,
  workflowsCancel,
  workflowsCreate,
  workflowsInitialize,
  workflowsReinitialize,
  workflowsResetStatus,
} from '@sluice/core';
import { registerTestWorker, SUCCEEDED } from '../support/engine-driver.js';

/**
 * The database side of the model-based test: each call is what a worker, a CLI command or an
 * admin in psql does, through the same functions they use, and `read` takes one snapshot of
 * everything the model predicts.
 */

export interface DbJob {
  name: string;
  status: string;
  unfinished_deps: number;
  unfinished_deps_actual: number;
}

export interface DbAction {
  position: number;
  trigger_type: TriggerType;
  trigger_count: number;
  required_triggers: number;
  status: string;
  executed: boolean;
  /** job-triggered: the count recomputed from job states (the design invariant) */
  recount: number | null;
  job_names: string[];
  waiting_on: string[];
}

export interface DbState {
  run_id: number;
  unfinished_jobs: number;
  canceled: boolean;
  jobs: DbJob[];
  actions: DbAction[];
}

const READ_STATE = `
SELECT w.run_id, w.unfinished_jobs, w.canceled_at IS NOT NULL AS canceled,
  (SELECT json_agg(json_build_object(
            'name', j.name, 'status', j.status, 'unfinished_deps', j.unfinished_deps,
            'unfinished_deps_actual',
              (SELECT count(*) FROM sluice.job_dependencies d JOIN sluice.jobs p ON p.id = d.depends_on_job_id
                WHERE d.job_id = j.id AND NOT sluice.job_status_is_done(p.status)))
          ORDER BY j.id)
     FROM sluice.jobs j WHERE j.workflow_id = w.id) AS jobs,
  (SELECT json_agg(json_build_object(
            'position', s.position, 'trigger_type', s.trigger_type, 'trigger_count', s.trigger_count,
            'required_triggers', s.required_triggers, 'status', s.status, 'executed', s.executed,
            'job_names', s.job_names, 'waiting_on', s.waiting_on,
            'recount', CASE WHEN s.trigger_type IN ('on_jobs_ready', 'on_jobs_complete') THEN
              (SELECT count(*) FROM sluice.workflow_action_jobs m JOIN sluice.jobs j ON j.id = m.job_id
                WHERE m.action_id = s.id AND CASE WHEN s.trigger_type = 'on_jobs_complete'
                      THEN sluice.job_status_is_terminal(j.status) ELSE j.became_ready END) END)
          ORDER BY s.position)
     FROM sluice.action_status s WHERE s.workflow_id = w.id) AS actions
  FROM sluice.workflows w WHERE w.id = $1`;

export class DatabaseDriver {
  private constructor(
    readonly h: SluiceDb,
    readonly workflowId: number,
    /** job index -> database id */
    readonly jobIds: number[],
    /** action position -> database id */
    readonly actionIds: number[],
  ) {}

  static async create(h: SluiceDb, wf: ResolvedWorkflow): Promise<DatabaseDriver> {
    const id = await workflowsCreate(h.db, wf);
    const jobs = await h.pool.query<{ id: string; name: string }>(
      'SELECT id, name FROM sluice.jobs WHERE workflow_id = $1',
      [id],
    );
    const byName = new Map(jobs.rows.map((r) => [r.name, Number(r.id)]));
    const jobIds = wf.jobs.map((j) => byName.get(j.name) as number);
    const acts = await h.pool.query<{ id: string }>(
      'SELECT id FROM sluice.workflow_actions WHERE workflow_id = $1 ORDER BY position',
      [id],
    );
    return new DatabaseDriver(
      h,
      id,
      jobIds,
      acts.rows.map((r) => Number(r.id)),
    );
  }

  async read(): Promise<DbState> {
    const r = await this.h.pool.query<DbState>(READ_STATE, [this.workflowId]);
    const s = r.rows[0] as DbState;
    return { ...s, jobs: s.jobs ?? [], actions: s.actions ?? [] };
  }

  /** Runs a lifecycle call; returns 'refused' when the database raised an error. */
  private async refusable(f: () => Promise<unknown>): Promise<{ outcome: 'ok' | 'refused'; error?: string }> {
    try {
      await f();
      return { outcome: 'ok' };
    } catch (e) {
      return { outcome: 'refused', error: (e as Error).message };
    }
  }

  initialize = () => this.refusable(() => workflowsInitialize(this.h.db, this.workflowId));
  reinitialize = () => this.refusable(() => workflowsReinitialize(this.h.db, this.workflowId));
  cancel = () => this.refusable(() => workflowsCancel(this.h.db, this.workflowId));
  reset = (failedOnly: boolean) => this.refusable(() => workflowsResetStatus(this.h.db, this.workflowId, failedOnly));

  register(): Promise<number> {
    return registerTestWorker(this.h, this.workflowId);
  }

  /** Returns the job indices claimed. */
  async claimJobs(workerId: number, limit: number): Promise<{ index: number; attempt: number }[]> {
    const rows = await jobsClaimReady(this.h.db, {
      workerId,
      limit,
      useResources: false,
      freeCpus: 0,
      freeMemoryBytes: 0,
      freeGpus: 0,
      freeNodes: 0,
      maxRuntimeSeconds: null,
    });
    return rows.map((r) => ({ index: this.jobIds.indexOf(Number(r.id)), attempt: r.attempt }));
  }

  /** Reports finished executions in one batch; returns the job indices whose results were recorded. */
  async completeJobs(
    workerId: number,
    done: { job: number; attempt: number; status: 'completed' | 'failed' }[],
  ): Promise<number[]> {
    const now = new Date();
    const ids = await jobsComplete(
      this.h.db,
      workerId,
      done.map((d) => ({
        jobId: this.jobIds[d.job] as number,
        attempt: d.attempt,
        status: d.status,
        returnCode: d.status === 'completed' ? 0 : 1,
        startedAt: now,
        completedAt: now,
        message: null,
        stdoutPath: null,
        stderrPath: null,
      })),
    );
    return ids.map((id) => this.jobIds.indexOf(Number(id))).sort((a, b) => a - b);
  }

  /** The worker goes silent past its heartbeat timeout, and someone reaps the workflow's workers. */
  async reap(workerId: number): Promise<number> {
    await this.h.pool.query("UPDATE sluice.workers SET heartbeat_at = now() - interval '1 day' WHERE id = $1", [
      workerId,
    ]);
    return workersReap(this.h.db, this.workflowId);
  }

  /** Claims one action; returns its position and the run's id. */
  async claimAction(
    workerId: number,
    types: readonly TriggerType[],
  ): Promise<{ position: number; runId: number } | null> {
    const a: ClaimedAction | null = await actionsClaimPending(this.h.db, workerId, types);
    if (!a) return null;
    return { position: this.actionIds.indexOf(Number(a.action_id)), runId: Number(a.run_id) };
  }

  claimable(workerId: number, types: readonly TriggerType[]): Promise<boolean> {
    return actionsClaimable(this.h.db, workerId, types);
  }

  finishRun(runId: number, succeeded: boolean): Promise<boolean> {
    return actionRunsFinish(this.h.db, runId, { ...SUCCEEDED, succeeded, exitCode: succeeded ? 0 : 1 });
  }

  stopWorker(workerId: number): Promise<void> {
    return workersStop(this.h.db, workerId);
  }

  /** An admin's UPDATE in psql. */
  async adminSet(job: number, status: string): Promise<void> {
    await this.h.pool.query('UPDATE sluice.jobs SET status = $1::sluice.job_status WHERE id = $2', [
      status,
      this.jobIds[job],
    ]);
  }
}
