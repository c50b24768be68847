import pg from 'pg';

/** A plain connection in an open transaction, for interleaving transactions by hand. */
export interface OpenTransaction {
  client: pg.Client;
  /** backend pid, to find the session in pg_stat_activity */
  pid: number;
  query<T extends pg.QueryResultRow = Record<string, unknown>>(text: string, params?: unknown[]): Promise<T[]>;
  commit(): Promise<void>;
  rollback(): Promise<void>;
}

export async function openTransaction(url: string, applicationName = 'sluice-faults'): Promise<OpenTransaction> {
  const client = new pg.Client({ connectionString: url, application_name: applicationName });
  client.on('error', () => {});
  await client.connect();
  const pid = (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]?.pid as number;
  await client.query('BEGIN');
  let ended = false;
  const end = async (sql: string) => {
    if (ended) return;
    ended = true;
    try {
      await client.query(sql);
    } finally {
      await client.end().catch(() => {});
    }
  };
  return {
    client,
    pid,
    async query(text, params) {
      return (await client.query(text, params as unknown[])).rows;
    },
    commit: () => end('COMMIT'),
    rollback: () => end('ROLLBACK'),
  };
}

/** Locks rows (`SELECT ... FOR UPDATE` or any locking statement) and holds them until released. */
export async function holdLocks(url: string, lockSql: string, params: unknown[] = []): Promise<OpenTransaction> {
  const tx = await openTransaction(url, 'sluice-faults-lock-holder');
  await tx.query(lockSql, params);
  return tx;
}

/**
 * Waits until the session `pid` waits on a lock, or `settled` (the statement it runs) is done:
 * the statement reached the contended lock, so the next step of an interleaving may go.
 */
export async function waitBlockedOrDone(
  url: string,
  pid: number,
  settled: Promise<unknown>,
  timeoutMs = 20_000,
): Promise<'blocked' | 'done'> {
  let done = false;
  settled.then(
    () => {
      done = true;
    },
    () => {
      done = true;
    },
  );
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (done) return 'done';
      const r = await c.query<{ w: string | null }>(
        'SELECT wait_event_type AS w FROM pg_stat_activity WHERE pid = $1',
        [pid],
      );
      if (r.rows[0]?.w === 'Lock') return 'blocked';
      if (Date.now() > deadline) throw new Error(`session ${pid} neither blocked nor finished in ${timeoutMs} ms`);
      await new Promise((r2) => setTimeout(r2, 20));
    }
  } finally {
    await c.end();
  }
}

/** Runs a statement on a fresh connection of its own; the promise settles with its rows or error. */
export async function runAlone<T extends pg.QueryResultRow = Record<string, unknown>>(
  url: string,
  text: string,
  params: unknown[] = [],
): Promise<{ pid: number; result: Promise<T[]> }> {
  const client = new pg.Client({ connectionString: url, application_name: 'sluice-faults' });
  client.on('error', () => {});
  await client.connect();
  const pid = (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]?.pid as number;
  const result = client.query<T>(text, params as unknown[]).then(
    async (r) => {
      await client.end().catch(() => {});
      return r.rows;
    },
    async (e) => {
      await client.end().catch(() => {});
      throw e;
    },
  );
  result.catch(() => {});
  return { pid, result };
}
