// ADAPTER (figure 9): idle clients LISTENing on Sluice's notification channels (CHANNELS), as
// many idle workers, dashboards or API servers would.
import { CHANNELS } from '@sluice/core';
import pg from 'pg';

export async function openIdleListeners(url, count) {
  const clients = [];
  let received = 0;
  try {
    for (let i = 0; i < count; i++) {
      const c = new pg.Client({ connectionString: url, application_name: 'sluice-bench-listener' });
      c.on('error', () => {});
      c.on('notification', () => {
        received++;
      });
      await c.connect();
      clients.push(c);
      for (const ch of Object.values(CHANNELS)) await c.query(`LISTEN ${pg.escapeIdentifier(ch)}`);
    }
  } catch (e) {
    await Promise.all(clients.map((c) => c.end().catch(() => {})));
    throw e;
  }
  return {
    received: () => received,
    close: () => Promise.all(clients.map((c) => c.end().catch(() => {}))),
  };
}
