import { MAIN_LOOP_TRIGGER_TYPES, type ResolvedWorkflow, type SluiceDb, type TriggerType } from '@sluice/core';
import { loadSpecText } from '@sluice/core/spec';
import { buildWorkflow } from '../support/workflow-builder.js';
import { DatabaseDriver, type DbState } from './database-driver.js';
import { type Op, type Scenario, scenarioYaml, toModelActions } from './scenario-generator.js';
import { isActive, WorkflowModel } from './workflow-model.js';

/**
 * Plays a scenario against the model and the database side by side and compares them after
 * every step. A difference throws a Discrepancy naming the step, the operations so far and what
 * differs.
 */

export class Discrepancy extends Error {}

interface HeldJob {
  job: number;
  worker: number;
  attempt: number;
}

export function scenarioWorkflow(s: Scenario): ResolvedWorkflow {
  if (s.viaYaml) return loadSpecText(scenarioYaml(s), { format: 'yaml', source: 'model.yaml' });
  const jobs = Object.fromEntries(
    s.jobs.map((j) => [j.name, { deps: j.deps.map((d) => s.jobs[d]?.name as string), cob: j.cob }]),
  );
  const wf = buildWorkflow(jobs, { name: 'model' });
  wf.actions = toModelActions(s).map((a) => ({
    triggerType: a.trigger,
    actionType: 'run_commands',
    persistent: a.persistent,
    jobs: a.jobs,
    commands: ['true'],
    scheduler: null,
    schedulerType: null,
    numAllocations: null,
    startOneWorkerPerNode: false,
    maxParallelJobs: null,
  }));
  return wf;
}

export class ScenarioRunner {
  readonly log: string[] = [];
  private readonly workerIds: number[] = [];
  private readonly runIds: number[] = [];
  private heldJobs: HeldJob[] = [];
  private heldRuns: number[] = [];
  steps = 0;

  private constructor(
    readonly model: WorkflowModel,
    readonly db: DatabaseDriver,
  ) {}

  static async start(h: SluiceDb, s: Scenario): Promise<ScenarioRunner> {
    const db = await DatabaseDriver.create(h, scenarioWorkflow(s));
    const r = new ScenarioRunner(new WorkflowModel(s.jobs, toModelActions(s)), db);
    await r.check('create');
    const state = await db.read();
    state.actions.forEach((a, i) => {
      const want = (r.model.actionSpecs[i]?.jobs ?? []).map((j) => s.jobs[j]?.name);
      if (JSON.stringify(a.job_names) !== JSON.stringify(want))
        r.fail(`action ${i} selects ${JSON.stringify(a.job_names)}, the model ${JSON.stringify(want)}`);
    });
    return r;
  }

  async play(ops: readonly Op[]): Promise<void> {
    for (const op of ops) await this.apply(op);
  }

  private fail(what: string): never {
    throw new Discrepancy(`${what}\nafter:\n  ${this.log.join('\n  ')}`);
  }

  private running(): number[] {
    return this.model.workers.map((w, i) => (w === 'running' ? i : -1)).filter((i) => i >= 0);
  }

  private pick<T>(xs: readonly T[], n: number): T | undefined {
    return xs.length === 0 ? undefined : xs[n % xs.length];
  }

  /** How often each kind of step ran, for the coverage summary. */
  readonly kinds = new Map<string, number>();

  private note(line: string, kind: string): void {
    this.log.push(line);
    this.steps += 1;
    this.kinds.set(kind, (this.kinds.get(kind) ?? 0) + 1);
  }

  private wid(w: number): number {
    return this.workerIds[w] as number;
  }

  /** Compares every prediction of the model with the database. */
  async check(label: string): Promise<void> {
    const s: DbState = await this.db.read();
    const m = this.model;
    const diffs: string[] = [];
    if (s.run_id !== m.runId) diffs.push(`run_id ${s.run_id}, model ${m.runId}`);
    if (s.unfinished_jobs !== m.unfinished())
      diffs.push(`unfinished_jobs ${s.unfinished_jobs}, model ${m.unfinished()}`);
    if (s.canceled !== m.canceled) diffs.push(`canceled ${s.canceled}, model ${m.canceled}`);
    s.jobs.forEach((j, i) => {
      if (j.status !== m.jobStatus(i)) diffs.push(`job ${j.name} ${j.status}, model ${m.jobStatus(i)}`);
      // The count is kept while a job waits; a run's start recounts the others.
      if ((j.status === 'blocked' || j.status === 'ready') && j.unfinished_deps !== j.unfinished_deps_actual)
        diffs.push(
          `job ${j.name} unfinished_deps ${j.unfinished_deps}, its dependency rows say ${j.unfinished_deps_actual}`,
        );
    });
    s.actions.forEach((a, i) => {
      const v = m.view(i);
      const name = `action ${i} (${a.trigger_type}${m.actionSpecs[i]?.persistent ? ', persistent' : ''})`;
      if (a.trigger_count !== v.count) diffs.push(`${name} trigger_count ${a.trigger_count}, model ${v.count}`);
      if (a.required_triggers !== v.required)
        diffs.push(`${name} required ${a.required_triggers}, model ${v.required}`);
      if (a.status !== v.status) diffs.push(`${name} status ${a.status}, model ${v.status}`);
      if (a.executed !== v.executed) diffs.push(`${name} executed ${a.executed}, model ${v.executed}`);
      const waiting = m.waitingOn(i).map((j) => m.jobSpecs[j]?.name);
      if (JSON.stringify(a.waiting_on) !== JSON.stringify(waiting))
        diffs.push(`${name} waiting_on ${JSON.stringify(a.waiting_on)}, model ${JSON.stringify(waiting)}`);
      if (a.recount !== null && a.recount !== a.trigger_count)
        diffs.push(`${name} trigger_count ${a.trigger_count}, job states say ${a.recount}`);
    });
    if (diffs.length > 0) this.fail(`at ${label}:\n  ${diffs.join('\n  ')}`);
  }

  async apply(op: Op): Promise<void> {
    const m = this.model;
    switch (op.kind) {
      case 'initialize':
      case 'reinitialize':
      case 'cancel':
      case 'reset': {
        const want =
          op.kind === 'initialize'
            ? m.initialize()
            : op.kind === 'reinitialize'
              ? m.reinitialize()
              : op.kind === 'cancel'
                ? m.cancel()
                : m.resetStatus(op.failedOnly);
        const got = op.kind === 'reset' ? await this.db.reset(op.failedOnly) : await this.db[op.kind]();
        const label = op.kind === 'reset' ? `reset-status${op.failedOnly ? ' --failed-only' : ''}` : op.kind;
        this.note(
          `${label} -> ${want}`,
          `${op.kind}${op.kind === 'reset' && op.failedOnly ? ' --failed-only' : ''} ${want}`,
        );
        if (got.outcome !== want) this.fail(`${label}: database ${got.outcome} (${got.error ?? ''}), model ${want}`);
        return this.check(label);
      }
      case 'register':
        await this.register();
        return;
      case 'claimJobs': {
        const w = await this.someWorker(op.worker);
        await this.claimJobs(w, op.limit);
        return;
      }
      case 'completeJob': {
        const h = this.pick(this.heldJobs, op.held);
        if (!h) return;
        this.heldJobs = this.heldJobs.filter((x) => x !== h);
        return this.complete(h.worker, [{ ...h, status: op.outcome }]);
      }
      case 'reap': {
        const w = this.pick(this.running(), op.worker);
        if (w === undefined) return;
        m.reap(w);
        const n = await this.db.reap(this.wid(w));
        this.note(`worker ${w} is declared lost`, 'reap');
        if (n !== 1) this.fail(`workers_reap declared ${n} workers lost, expected 1`);
        return this.check('workers_reap');
      }
      case 'runAction': {
        const w = await this.someWorker(op.worker);
        const run = await this.claimAction(w, MAIN_LOOP_TRIGGER_TYPES);
        if (run === null) return;
        if (op.outcome === 'hold') this.heldRuns.push(run);
        else await this.finishRun(run, op.outcome === 'succeeded');
        return;
      }
      case 'finishAction': {
        const run = this.pick(this.heldRuns, op.held);
        if (run === undefined) return;
        this.heldRuns = this.heldRuns.filter((r) => r !== run);
        return this.finishRun(run, op.outcome === 'succeeded');
      }
      case 'leave': {
        const w = this.pick(this.running(), op.worker);
        if (w === undefined) return;
        return this.leaveIfIdle(w);
      }
      case 'admin': {
        const job = op.job % m.jobSpecs.length;
        if (!m.adminAllowed(job, op.status)) return;
        m.adminSet(job, op.status);
        await this.db.adminSet(job, op.status);
        this.note(`admin: UPDATE ${m.jobSpecs[job]?.name} SET status = ${op.status}`, `admin ${op.status}`);
        return this.check('admin UPDATE');
      }
      case 'drive':
        return this.drive(op.outcomes);
    }
  }

  /** A live worker chosen by n, or a new one when none is live. */
  private async someWorker(n: number): Promise<number> {
    return this.pick(this.running(), n) ?? (await this.register());
  }

  private async register(): Promise<number> {
    const w = this.model.registerWorker();
    this.workerIds.push(await this.db.register());
    this.note(`register worker ${w}`, 'register');
    await this.check('register');
    return w;
  }

  private async claimJobs(w: number, limit: number): Promise<HeldJob[]> {
    const m = this.model;
    const ready = m.readyJobs();
    const expected = m.gateOpen(w) ? Math.min(limit, ready.length) : 0;
    const got = await this.db.claimJobs(this.wid(w), limit);
    const names = got.map((g) => m.jobSpecs[g.index]?.name);
    this.note(
      `worker ${w} claims up to ${limit} jobs -> [${names.join(', ')}]`,
      got.length ? 'claim jobs' : 'claim jobs: none',
    );
    if (got.length !== expected || got.some((g) => !ready.includes(g.index)))
      this.fail(
        `jobs_claim gave [${names.join(', ')}]; model: gate ${m.gateOpen(w) ? 'open' : 'closed'}, ready [${ready.map((i) => m.jobSpecs[i]?.name).join(', ')}]`,
      );
    m.claimJobs(
      w,
      got.map((g) => g.index),
    );
    const held = got.map((g) => ({ job: g.index, worker: w, attempt: g.attempt }));
    for (const h of held) {
      if (h.attempt !== m.jobClaim(h.job).attempt)
        this.fail(`attempt ${h.attempt}, model ${m.jobClaim(h.job).attempt}`);
    }
    this.heldJobs.push(...held);
    await this.check('jobs_claim');
    return held;
  }

  private async complete(w: number, done: (HeldJob & { status: 'completed' | 'failed' })[]): Promise<void> {
    const m = this.model;
    for (const d of done) m.completeJob(d.job, d.worker, d.attempt, d.status);
    const accepted = done
      .filter((d) => m.hasResult(d.job, d.attempt))
      .map((d) => d.job)
      .sort((a, b) => a - b);
    const got = await this.db.completeJobs(this.wid(w), done);
    const kind = accepted.length === 0 ? 'report: not recorded' : 'report';
    this.note(
      `worker ${w} reports ${done.map((d) => `${m.jobSpecs[d.job]?.name} ${d.status}`).join(', ')} -> recorded [${got.map((i) => m.jobSpecs[i]?.name).join(', ')}]`,
      kind,
    );
    if (JSON.stringify(got) !== JSON.stringify(accepted))
      this.fail(`jobs_complete recorded [${got}], model [${accepted}]`);
    return this.check('jobs_complete');
  }

  private async claimAction(w: number, types: readonly TriggerType[]): Promise<number | null> {
    const m = this.model;
    const options = m.claimableActions(w, types);
    // What a worker asks before it leaves: "does not leave while an action it could run is pending".
    const claimable = await this.db.claimable(this.wid(w), types);
    if (claimable !== options.length > 0)
      this.fail(`actions_claimable says ${claimable} for worker ${w}, model allows [${options}]`);
    const got = await this.db.claimAction(this.wid(w), types);
    this.note(
      `worker ${w} claims an action (${types.length} triggers) -> ${got ? `action ${got.position}` : 'none'}`,
      got ? `claim ${m.actionSpecs[got.position]?.trigger}` : 'claim action: none',
    );
    if ((got === null) !== (options.length === 0) || (got && !options.includes(got.position)))
      this.fail(`actions_claim gave ${got ? `action ${got.position}` : 'nothing'}, model allows [${options}]`);
    if (!got) return null;
    const run = m.claimAction(w, got.position);
    this.runIds[run] = got.runId;
    await this.check('actions_claim');
    return run;
  }

  private async finishRun(run: number, succeeded: boolean): Promise<void> {
    const owner = this.model.actions[this.model.runs[run]?.action ?? 0];
    const stale = owner?.status === 'running' && owner.owner !== run;
    const want = this.model.finishRun(run, succeeded);
    const got = await this.db.finishRun(this.runIds[run] as number, succeeded);
    const r = this.model.runs[run];
    this.note(
      `run of action ${r?.action} by worker ${r?.worker} ends ${succeeded ? 'succeeded' : 'failed'} -> ${want}`,
      stale ? 'finish run: another run owns the action' : `finish run ${want}`,
    );
    if (got !== want) this.fail(`action_runs_finish returned ${got}, model ${want}`);
    return this.check('action_runs_finish');
  }

  /** A worker with nothing in hand runs its on_worker_complete actions and stops. */
  private async leaveIfIdle(w: number): Promise<void> {
    const m = this.model;
    if (m.workers[w] !== 'running') return;
    const busyJob = m.jobs.some((j) => j.worker === w && isActive(j.status));
    const busyRun = m.runs.some((r) => r.worker === w && r.status === 'running');
    if (busyJob || busyRun) return;
    for (let run = await this.claimAction(w, ['on_worker_complete']); run !== null; ) {
      await this.finishRun(run, true);
      run = await this.claimAction(w, ['on_worker_complete']);
    }
    m.stopWorker(w);
    await this.db.stopWorker(this.wid(w));
    this.note(`worker ${w} stops`, 'stop');
    return this.check('workers_stop');
  }

  /** A whole worker life: register, run what it can, claim and finish ready jobs, leave. */
  private async drive(outcomes: readonly ('completed' | 'failed')[]): Promise<void> {
    const w = await this.register();
    for (let run = await this.claimAction(w, MAIN_LOOP_TRIGGER_TYPES); run !== null; ) {
      await this.finishRun(run, true);
      run = await this.claimAction(w, MAIN_LOOP_TRIGGER_TYPES);
    }
    const held = await this.claimJobs(w, outcomes.length);
    this.heldJobs = this.heldJobs.filter((h) => !held.includes(h));
    if (held.length > 0)
      await this.complete(
        w,
        held.map((h, k) => ({ ...h, status: outcomes[k] ?? 'completed' })),
      );
    await this.leaveIfIdle(w);
  }
}
