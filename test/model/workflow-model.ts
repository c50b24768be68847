import type { ActionStatus, JobStatus, TriggerType } from '@sluice/core';

/**
 * A reference model of jobs, dependencies and workflow actions, written from the seed document
 * (/work/shared/seed/workflow-actions.txt), the README's actions section and
 * docs/state-machines.md, not from the SQL. It states rules over whole states (a fixpoint for
 * dependency propagation, counts recomputed from job states) where the SQL keeps counters by
 * triggers, so that a disagreement points at one of the two.
 */

export interface ModelJobSpec {
  name: string;
  /** indices of the jobs this one depends on */
  deps: number[];
  cob: boolean;
}

export interface ModelActionSpec {
  trigger: TriggerType;
  persistent: boolean;
  /** selected job indices, sorted and unique; empty for workflow and worker triggers */
  jobs: number[];
}

export type RunStatus = 'running' | 'succeeded' | 'failed' | 'abandoned';
export type WorkerState = 'running' | 'stopped' | 'lost';

interface JobState {
  status: JobStatus;
  /** became ready since its last reset (what on_jobs_ready counts) */
  becameReady: boolean;
  worker: number | null;
  attempt: number;
}

interface ActionState {
  status: ActionStatus;
  /** trigger_count of workflow and worker triggers; job triggers are recomputed from job states */
  count: number;
  /** the run whose outcome the status of a non-persistent action shows */
  owner: number | null;
}

export interface RunState {
  action: number;
  worker: number;
  runId: number;
  status: RunStatus;
}

export interface ActionView {
  count: number;
  required: number;
  status: ActionStatus;
  executed: boolean;
}

export const JOB_TRIGGERS: readonly TriggerType[] = ['on_jobs_ready', 'on_jobs_complete'];
const WORKER_TRIGGERS: readonly TriggerType[] = ['on_worker_start', 'on_worker_complete'];
const EXECUTED: readonly ActionStatus[] = ['running', 'succeeded', 'failed'];

export const isActive = (s: JobStatus) => s === 'pending' || s === 'running';
export const isTerminal = (s: JobStatus) =>
  s === 'completed' || s === 'failed' || s === 'canceled' || s === 'terminated';
export const isDone = (s: JobStatus) => isTerminal(s) || s === 'disabled';
export const isUnsuccessful = (s: JobStatus) => s === 'failed' || s === 'canceled' || s === 'terminated';

export const defaultPersistent = (t: TriggerType) => WORKER_TRIGGERS.includes(t);

export type Outcome = 'ok' | 'refused';

export class WorkflowModel {
  /** executions ("job:attempt") that have a result row */
  readonly results = new Set<string>();
  readonly jobs: JobState[];
  readonly actions: ActionState[];
  readonly runs: RunState[] = [];
  readonly workers: WorkerState[] = [];
  runId = 0;
  canceled = false;
  private readonly dependents: number[][];

  constructor(
    readonly jobSpecs: readonly ModelJobSpec[],
    readonly actionSpecs: readonly ModelActionSpec[],
  ) {
    this.jobs = jobSpecs.map(() => ({ status: 'uninitialized', becameReady: false, worker: null, attempt: 0 }));
    this.actions = actionSpecs.map(() => ({ status: 'waiting', count: 0, owner: null }));
    this.dependents = jobSpecs.map(() => []);
    jobSpecs.forEach((j, i) => {
      for (const d of j.deps) this.dependents[d]?.push(i);
    });
  }

  // ---- what the state says -------------------------------------------------------------------

  unfinished(): number {
    return this.jobs.filter((j) => !isDone(j.status)).length;
  }

  /** "when all jobs reach terminal states": no job left unfinished, in a started run */
  complete(): boolean {
    return this.runId > 0 && this.unfinished() === 0;
  }

  private satisfies(action: number, job: number): boolean {
    const j = this.jobs[job] as JobState;
    return this.spec(action).trigger === 'on_jobs_complete' ? isTerminal(j.status) : j.becameReady;
  }

  private spec(action: number): ModelActionSpec {
    return this.actionSpecs[action] as ModelActionSpec;
  }

  required(action: number): number {
    const s = this.spec(action);
    return JOB_TRIGGERS.includes(s.trigger) ? s.jobs.length : 1;
  }

  count(action: number): number {
    const s = this.spec(action);
    if (!JOB_TRIGGERS.includes(s.trigger)) return (this.actions[action] as ActionState).count;
    return s.jobs.filter((j) => this.satisfies(action, j)).length;
  }

  /** Selected jobs that do not satisfy the trigger yet (action_status.waiting_on). */
  waitingOn(action: number): number[] {
    return this.spec(action).jobs.filter((j) => !this.satisfies(action, j));
  }

  executed(action: number): boolean {
    if (this.spec(action).persistent) return this.runs.some((r) => r.action === action && r.runId === this.runId);
    return EXECUTED.includes((this.actions[action] as ActionState).status);
  }

  view(action: number): ActionView {
    return {
      count: this.count(action),
      required: this.required(action),
      status: (this.actions[action] as ActionState).status,
      executed: this.executed(action),
    };
  }

  private ranThisRun(action: number, worker: number, finished: boolean): boolean {
    return this.runs.some(
      (r) =>
        r.action === action && r.worker === worker && r.runId === this.runId && (!finished || r.status !== 'running'),
    );
  }

  /**
   * Actions the worker may claim among `types`: a pending non-persistent one if there is any,
   * else a pending persistent one it has not run in this run.
   */
  claimableActions(worker: number, types: readonly TriggerType[]): number[] {
    if (this.workers[worker] !== 'running') return [];
    const pending = this.actions
      .map((a, i) => ({ a, i }))
      .filter(({ a, i }) => a.status === 'pending' && types.includes(this.spec(i).trigger));
    const shared = pending.filter(({ i }) => !this.spec(i).persistent).map(({ i }) => i);
    if (shared.length > 0) return shared;
    return pending.filter(({ i }) => this.spec(i).persistent && !this.ranThisRun(i, worker, false)).map(({ i }) => i);
  }

  /**
   * No job starts while a non-persistent on_workflow_start is pending or running, nor on a
   * worker that has not finished its own runs of pending persistent start actions.
   */
  gateOpen(worker: number): boolean {
    if (this.workers[worker] !== 'running' || this.canceled) return false;
    return this.actions.every((a, i) => {
      const s = this.spec(i);
      if (s.trigger !== 'on_workflow_start' && s.trigger !== 'on_worker_start') return true;
      if (s.persistent) return !(a.status === 'pending' && !this.ranThisRun(i, worker, true));
      return !(s.trigger === 'on_workflow_start' && (a.status === 'pending' || a.status === 'running'));
    });
  }

  readyJobs(): number[] {
    return this.jobs
      .map((j, i) => ({ j, i }))
      .filter(({ j }) => j.status === 'ready')
      .map(({ i }) => i);
  }

  // ---- transitions ---------------------------------------------------------------------------

  private setStatus(job: number, status: JobStatus): void {
    const j = this.jobs[job] as JobState;
    if (j.status === status) return;
    if (status === 'ready') j.becameReady = true;
    if (status === 'uninitialized') j.becameReady = false;
    j.status = status;
  }

  /**
   * Dependencies to a fixpoint: a blocked job whose dependency ended unsuccessfully is canceled
   * if it asks for it (transitively); a blocked job whose dependencies are all done is ready.
   */
  private propagate(): void {
    for (let changed = true; changed; ) {
      changed = false;
      this.jobs.forEach((j, i) => {
        if (j.status !== 'blocked') return;
        const deps = (this.jobSpecs[i] as ModelJobSpec).deps.map((d) => (this.jobs[d] as JobState).status);
        if ((this.jobSpecs[i] as ModelJobSpec).cob && deps.some(isUnsuccessful)) {
          this.setStatus(i, 'canceled');
          changed = true;
        } else if (deps.every(isDone)) {
          this.setStatus(i, 'ready');
          changed = true;
        }
      });
    }
  }

  /**
   * Arms what is not executed yet: job triggers when every selected job satisfies them
   * (falling back to waiting when a count drops before a claim), on_workflow_complete when no
   * job is unfinished, workflow-start and worker actions as soon as a run started.
   */
  private settle(): void {
    this.actions.forEach((a, i) => {
      if (a.status !== 'waiting' && a.status !== 'pending') return;
      const trigger = this.spec(i).trigger;
      let armed: boolean;
      if (JOB_TRIGGERS.includes(trigger)) armed = this.count(i) >= this.required(i);
      else if (trigger === 'on_workflow_complete') {
        armed = this.complete();
        a.count = armed ? 1 : 0;
      } else {
        armed = this.runId > 0;
        a.count = armed ? 1 : 0;
      }
      a.status = armed ? 'pending' : 'waiting';
    });
  }

  private after(): void {
    this.propagate();
    this.settle();
  }

  initialize(): Outcome {
    if (this.runId > 0) return 'refused';
    return this.startRun();
  }

  reinitialize(): Outcome {
    return this.startRun();
  }

  /**
   * A new run: executed flags cleared and counts recomputed from current job states, except a
   * job-triggered action whose selected jobs all still satisfy it (it stays as it is); then the
   * uninitialized jobs become canceled, ready or blocked from their dependencies' states.
   */
  private startRun(): Outcome {
    if (this.canceled) return 'refused';
    this.runId += 1;
    this.actions.forEach((a, i) => {
      const stillSatisfied = JOB_TRIGGERS.includes(this.spec(i).trigger) && this.count(i) === this.required(i);
      if (stillSatisfied && a.status !== 'waiting') return;
      a.status = 'waiting';
      a.owner = null;
    });
    this.settle();
    const before = this.jobs.map((j) => j.status);
    const moves: [number, JobStatus][] = [];
    this.jobs.forEach((j, i) => {
      if (j.status !== 'uninitialized') return;
      const spec = this.jobSpecs[i] as ModelJobSpec;
      const deps = spec.deps.map((d) => before[d] as JobStatus);
      if (spec.cob && deps.some(isUnsuccessful)) moves.push([i, 'canceled']);
      else moves.push([i, deps.every(isDone) ? 'ready' : 'blocked']);
    });
    for (const [i, s] of moves) this.setStatus(i, s);
    this.after();
    return 'ok';
  }

  cancel(): Outcome {
    this.canceled = true;
    this.jobs.forEach((j, i) => {
      if (!isDone(j.status)) this.setStatus(i, 'canceled');
    });
    this.after();
    return 'ok';
  }

  /** Jobs affected by a reset: all, or the unsuccessful ones and everything downstream. */
  resetTargets(failedOnly: boolean): number[] {
    if (!failedOnly) return this.jobs.map((_, i) => i);
    const seen = new Set<number>();
    const stack = this.jobs.map((j, i) => (isUnsuccessful(j.status) ? i : -1)).filter((i) => i >= 0);
    while (stack.length > 0) {
      const i = stack.pop() as number;
      if (seen.has(i)) continue;
      seen.add(i);
      stack.push(...(this.dependents[i] as number[]));
    }
    return [...seen].sort((a, b) => a - b);
  }

  resetStatus(failedOnly: boolean): Outcome {
    const targets = this.resetTargets(failedOnly);
    if (targets.some((i) => isActive((this.jobs[i] as JobState).status))) return 'refused';
    for (const i of targets) this.setStatus(i, 'uninitialized');
    this.canceled = false;
    this.after();
    return 'ok';
  }

  registerWorker(): number {
    this.workers.push('running');
    return this.workers.length - 1;
  }

  /** A worker that stops leaves nothing claimed: like a lost one, its jobs end terminated, its runs abandoned. */
  stopWorker(worker: number): void {
    if (this.workers[worker] !== 'running') return;
    this.release(worker);
    this.workers[worker] = 'stopped';
    this.after();
  }

  /** A claim starts the jobs it takes: they go ready -> running in one step. */
  claimJobs(worker: number, jobs: readonly number[]): void {
    for (const i of jobs) {
      const j = this.jobs[i] as JobState;
      this.setStatus(i, 'running');
      j.worker = worker;
      j.attempt += 1;
    }
    this.after();
  }

  /** A worker's report: recorded only for its own attempt; a job no longer claimed keeps its status. */
  /**
   * A worker's report of one execution (job, attempt): it gets a result if the job still carries
   * that execution of this worker and none was written for it yet (a reap or stop writes one);
   * the job takes the status only while it is still running.
   */
  completeJob(job: number, worker: number, attempt: number, status: 'completed' | 'failed'): void {
    const j = this.jobs[job] as JobState;
    if (j.worker !== worker || j.attempt !== attempt) return;
    this.results.add(`${job}:${attempt}`);
    if (!isActive(j.status)) return;
    this.setStatus(job, status);
    this.after();
  }

  /** Whether the execution (job, attempt) has a result. */
  hasResult(job: number, attempt: number): boolean {
    return this.results.has(`${job}:${attempt}`);
  }

  /** The worker is declared lost: its jobs become terminated, its running action runs abandoned. */
  reap(worker: number): void {
    if (this.workers[worker] !== 'running') return;
    this.release(worker);
    this.workers[worker] = 'lost';
    this.after();
  }

  private release(worker: number): void {
    this.jobs.forEach((j, i) => {
      if (j.worker === worker && isActive(j.status)) {
        this.setStatus(i, 'terminated');
        this.results.add(`${i}:${j.attempt}`);
      }
    });
    this.runs.forEach((r, k) => {
      if (r.worker !== worker || r.status !== 'running') return;
      r.status = 'abandoned';
      const a = this.actions[r.action] as ActionState;
      if (!this.spec(r.action).persistent && a.owner === k && a.status === 'running') a.status = 'failed';
    });
  }

  /** Returns the run's index. */
  claimAction(worker: number, action: number): number {
    this.runs.push({ action, worker, runId: this.runId, status: 'running' });
    const k = this.runs.length - 1;
    if (!this.spec(action).persistent) {
      const a = this.actions[action] as ActionState;
      a.status = 'running';
      a.owner = k;
    }
    return k;
  }

  /** Returns whether the run was still running; a run shows on its action only while it owns it. */
  finishRun(run: number, succeeded: boolean): boolean {
    const r = this.runs[run] as RunState;
    if (r.status !== 'running') return false;
    r.status = succeeded ? 'succeeded' : 'failed';
    const a = this.actions[r.action] as ActionState;
    if (!this.spec(r.action).persistent && a.owner === run && a.status === 'running') a.status = r.status;
    return true;
  }

  /**
   * What an admin may set by hand: a job that has not finished ends, one not claimed is
   * disabled, a blocked one is released to ready.
   */
  adminAllowed(job: number, status: JobStatus): boolean {
    const s = (this.jobs[job] as JobState).status;
    if (isDone(s)) return false;
    if (status === 'disabled') return !isActive(s);
    if (status === 'ready') return s === 'blocked';
    return status === 'completed' || status === 'failed' || status === 'canceled';
  }

  adminSet(job: number, status: JobStatus): void {
    this.setStatus(job, status);
    this.after();
  }

  jobStatus(job: number): JobStatus {
    return (this.jobs[job] as JobState).status;
  }

  jobClaim(job: number): { worker: number | null; attempt: number } {
    const j = this.jobs[job] as JobState;
    return { worker: j.worker, attempt: j.attempt };
  }
}
