import { sql } from 'kysely';
import type { Db } from './row-types.js';

export interface ActionRunOutcome {
  succeeded: boolean;
  exitCode: number | null;
  failedCommand: string | null;
  message: string | null;
  stdoutPath: string | null;
  stderrPath: string | null;
}

/** Returns false when the run had already been marked abandoned. */
export async function actionRunsFinish(db: Db, actionRunId: number, o: ActionRunOutcome): Promise<boolean> {
  const r = await sql<{ ok: boolean }>`
    SELECT sluice.action_runs_finish(${actionRunId}, ${o.succeeded}, ${o.exitCode}, ${o.failedCommand},
      ${o.message}, ${o.stdoutPath}, ${o.stderrPath}) AS ok`.execute(db);
  return r.rows[0]?.ok ?? false;
}

/** The runs the database says this worker is running. */
export async function actionRunsOwned(db: Db, workerId: number): Promise<number[]> {
  const rows = await db
    .selectFrom('sluice.action_runs')
    .select('id')
    .where('worker_id', '=', workerId)
    .where('status', '=', 'running')
    .orderBy('id')
    .execute();
  return rows.map((r) => r.id);
}

/** Gives back runs the worker holds but does not run (a claim whose reply was lost). */
export async function actionRunsRelease(db: Db, workerId: number, runIds: number[]): Promise<number[]> {
  if (runIds.length === 0) return [];
  const r = await sql<{ id: number }>`
    SELECT id FROM sluice.action_runs_release(${workerId}, ${runIds}::bigint[]) AS id`.execute(db);
  return r.rows.map((x) => x.id);
}
