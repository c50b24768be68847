// Event ids come from a sequence before their transactions commit, and transactions commit in
// any order: event 11 may be visible while event 10's transaction still runs. A stream that
// sent 11 would go on after it and never send 10. So a stream sends an event only once every
// transaction that could still add a lower id has ended.
//
// Which transactions could: a transaction locks sluice.events (RowExclusiveLock) before it draws
// an id there, and keeps the lock until it ends, after its commit became visible. So, read in
// this order before the events: the sequence's last value V, then the transactions holding that
// lock (writers). Every id up to V was drawn by a writer or by a transaction that has ended;
// once those writers have ended too, every event up to V is visible (or never will be). That
// holds because the sequence hands out ids one at a time (CACHE 1, as migrated).
import type { Db } from '@sluice/core';
import { sql } from 'kysely';

/** What was true just before the events were read. */
export interface WriterState {
  /** the last id the events sequence gave out (0: none yet) */
  lastValue: number;
  /** virtual transaction ids of other transactions that may insert events now */
  writers: string[];
}

/** Events up to `boundary` wait for `writers` to end. */
export interface Hold {
  boundary: number;
  writers: string[];
  since: number;
}

/** Read before the events query, in the same transaction (each statement sees the state after the last). */
export async function readWriterState(trx: Db): Promise<WriterState> {
  const seq = await sql<{ last_value: number | null }>`
    SELECT pg_sequence_last_value('sluice.events_id_seq'::regclass) AS last_value`.execute(trx);
  const locks = await sql<{ vxid: string }>`
    SELECT DISTINCT virtualtransaction AS vxid FROM pg_locks
     WHERE locktype = 'relation' AND mode = 'RowExclusiveLock' AND granted
       AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
       AND relation = 'sluice.events'::regclass AND pid <> pg_backend_pid()`.execute(trx);
  return { lastValue: seq.rows[0]?.last_value ?? 0, writers: locks.rows.map((r) => r.vxid) };
}

/**
 * Up to which id the events just read (ids after `sent`, up to `maxRead`) may be sent, and what
 * stays held. A hold ends when its writers have, or after maxHoldMs: a transaction that stays
 * open longer than that must not stop every stream (its lower id may then be missed).
 */
export function releaseUpTo(
  held: Hold | null,
  state: WriterState,
  sent: number,
  maxRead: number | null,
  now: number,
  maxHoldMs: number,
): { upTo: number; held: Hold | null } {
  let upTo = sent;
  let hold = held;
  if (hold && (hold.writers.every((w) => !state.writers.includes(w)) || now - hold.since >= maxHoldMs)) {
    upTo = Math.max(upTo, hold.boundary);
    hold = null;
  }
  if (state.writers.length === 0) upTo = Math.max(upTo, state.lastValue);
  if (!hold && maxRead !== null && maxRead > upTo) {
    const boundary = Math.min(maxRead, state.lastValue);
    if (boundary > upTo) hold = { boundary, writers: state.writers, since: now };
  }
  return { upTo, held: hold };
}
