import { sql } from 'kysely';
import type { Db, SlurmSchedulerRow } from './row-types.js';

/** A scheduler with what an sbatch script needs from its workflow. */
export type SlurmSchedulerWithDefaults = SlurmSchedulerRow & {
  workflow_name: string;
  slurm_defaults: Record<string, string | number | boolean>;
};

export async function slurmSchedulersGet(db: Db, schedulerId: number): Promise<SlurmSchedulerWithDefaults> {
  const row = await db
    .selectFrom('sluice.slurm_schedulers as s')
    .innerJoin('sluice.workflows as w', 'w.id', 's.workflow_id')
    .selectAll('s')
    .select([
      'w.name as workflow_name',
      sql<Record<string, string | number | boolean>>`w.slurm_defaults`.as('slurm_defaults'),
    ])
    .where('s.id', '=', schedulerId)
    .executeTakeFirst();
  if (!row) throw new Error(`internal: scheduler ${schedulerId} does not exist`);
  return row;
}
