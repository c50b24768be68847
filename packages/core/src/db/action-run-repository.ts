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
