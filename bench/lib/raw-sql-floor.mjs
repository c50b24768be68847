// The raw SQL floor of the coordinator benchmark: a plain table, a batch claim with
// FOR UPDATE SKIP LOCKED and a batch complete, nothing else (no events, no results, no
// triggers). What any PostgreSQL queue pays at least for the same claims and completions.
import pg from 'pg';

export async function setupRawQueue(url, numJobs) {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await c.query(`CREATE TABLE bench_raw_jobs (
      id bigint PRIMARY KEY, status text NOT NULL DEFAULT 'ready', worker_id int, attempt int NOT NULL DEFAULT 0)`);
    await c.query(`CREATE INDEX bench_raw_jobs_ready ON bench_raw_jobs (id) WHERE status = 'ready'`);
    await c.query('INSERT INTO bench_raw_jobs (id) SELECT g FROM generate_series(1, $1::int) g', [numJobs]);
  } finally {
    await c.end();
  }
}

export function openRawDriver(url, workerId) {
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  pool.on('error', () => {});
  return {
    claim: async (limit) =>
      (
        await pool.query(
          `UPDATE bench_raw_jobs j SET status = 'running', worker_id = $1, attempt = j.attempt + 1
            WHERE j.id IN (SELECT id FROM bench_raw_jobs WHERE status = 'ready' ORDER BY id LIMIT $2
                           FOR UPDATE SKIP LOCKED)
        RETURNING j.id, j.attempt`,
          [workerId, limit],
        )
      ).rows,
    start: async () => {},
    complete: async (jobs) => {
      await pool.query(`UPDATE bench_raw_jobs SET status = 'done' WHERE id = ANY($1::bigint[]) AND worker_id = $2`, [
        jobs.map((j) => j.id),
        workerId,
      ]);
    },
    done: async () =>
      (await pool.query(`SELECT NOT EXISTS (SELECT 1 FROM bench_raw_jobs WHERE status <> 'done') AS d`)).rows[0].d,
    waitForWork: (ms) => new Promise((r) => setTimeout(r, ms)),
    close: () => pool.end(),
  };
}

export function openRawObserver(url) {
  const c = new pg.Client({ connectionString: url });
  const ready = c.connect();
  return {
    drained: async () => {
      await ready;
      return (await c.query(`SELECT NOT EXISTS (SELECT 1 FROM bench_raw_jobs WHERE status <> 'done') AS d`)).rows[0].d;
    },
    close: () => c.end(),
  };
}
