import type { ServerResponse } from 'node:http';
import {
  apiTokensAuthenticate,
  type Db,
  eventsList,
  type Notification,
  NotificationListener,
  type SluiceDb,
} from '@sluice/core';
import { type Hold, readWriterState, releaseUpTo, type WriterState } from './event-order-guard.js';
import { drained, type EventRow, frame, wakeFrame } from './event-stream-frames.js';
import { setLocalRole } from './user-transaction.js';

export interface EventStreamHubOptions {
  handle: SluiceDb;
  /** the slow poll: not every event is notified (default 1 s) */
  pollIntervalMs?: number;
  /** comment lines that keep proxies from closing an idle stream (default 15 s) */
  heartbeatIntervalMs?: number;
  /** how often a stream's token is checked again, so that revoking it ends the stream (default 60 s) */
  reauthenticateMs?: number;
  /** the longest an event waits for transactions that may add lower ids to end (default 2 s) */
  maxHoldMs?: number;
  log?: (message: string) => void;
}

export interface EventStreamStart {
  workflowId: number;
  token: string;
  role: string;
  /** the last event id the client has: the stream sends those after it */
  afterId: number;
  res: ServerResponse;
  /** send wake frames (?wake=true) */
  wake?: boolean;
  /** send events (default); false (?events=false): wake frames only, and no reads but the token's check */
  events?: boolean;
}

interface Subscriber {
  workflowId: number;
  token: string;
  role: string;
  lastId: number;
  res: ServerResponse;
  wake: boolean;
  events: boolean;
  authenticatedAt: number;
  reading: boolean;
  again: boolean;
  closed: boolean;
  failing: boolean;
  /** events read but held back until transactions that may add lower ids have ended */
  held: Hold | null;
  recheck: NodeJS.Timeout | null;
  recheckMs: number;
}

interface Fetched {
  events: EventRow[];
  state: WriterState;
}

const workflowVisible = (trx: Db, id: number) =>
  trx.selectFrom('sluice.workflows').select('id').where('id', '=', id).executeTakeFirst();

/** Events read per query; a stream that is further behind reads again at once. */
const BATCH = 500;
/** How soon held events are looked at again: at first, then at most (a long transaction waits). */
const RECHECK_MS = 50;
const MAX_RECHECK_MS = 400;

/**
 * Every event stream of one server process, fed by ONE LISTEN connection: a notification for
 * workflow W, and a slow poll, make each subscriber of W read the events after its last id, in
 * a short transaction as that subscriber's role, so that row-level security applies to streams
 * as to every other request.
 */
export class EventStreamHub {
  private readonly subscribers = new Set<Subscriber>();
  private listener: NotificationListener | null = null;
  private pollTimer: NodeJS.Timeout | null = null;
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private stopped = false;
  private readonly pollIntervalMs: number;
  private readonly heartbeatIntervalMs: number;
  private readonly reauthenticateMs: number;
  private readonly maxHoldMs: number;

  constructor(private readonly opts: EventStreamHubOptions) {
    this.pollIntervalMs = opts.pollIntervalMs ?? 1000;
    this.heartbeatIntervalMs = opts.heartbeatIntervalMs ?? 15_000;
    this.reauthenticateMs = opts.reauthenticateMs ?? 60_000;
    this.maxHoldMs = opts.maxHoldMs ?? 2000;
  }

  /** Streams the workflow's events to res (its headers already sent) until the client goes away. */
  subscribe(start: EventStreamStart): void {
    if (this.stopped) {
      start.res.end();
      return;
    }
    const sub: Subscriber = {
      workflowId: start.workflowId,
      token: start.token,
      role: start.role,
      lastId: start.afterId,
      res: start.res,
      wake: start.wake ?? false,
      events: start.events ?? true,
      authenticatedAt: Date.now(),
      reading: false,
      again: false,
      closed: false,
      failing: false,
      held: null,
      recheck: null,
      recheckMs: RECHECK_MS,
    };
    this.subscribers.add(sub);
    start.res.once('close', () => this.drop(sub));
    this.ensureRunning();
    if (sub.events) void this.read(sub);
  }

  /**
   * Ends every stream, and refuses new ones (the server is stopping: a stream would keep it
   * waiting for ever); clients see the end and may reconnect elsewhere.
   */
  endStreams(): void {
    this.stopped = true;
    for (const sub of this.subscribers) this.end(sub);
  }

  async close(): Promise<void> {
    this.endStreams();
    if (this.pollTimer) clearInterval(this.pollTimer);
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    this.pollTimer = this.heartbeatTimer = null;
    const listener = this.listener;
    this.listener = null;
    await listener?.stop();
  }

  private ensureRunning(): void {
    if (!this.listener) {
      this.listener = new NotificationListener({
        url: this.opts.handle.url,
        onNotify: (n) => this.onNotify(n),
        onStateChange: (state, error) => {
          if (state === 'disconnected')
            this.opts.log?.(`event streams: LISTEN connection lost${error ? `: ${error.message}` : ''}; polling`);
        },
      });
      void this.listener.start();
    }
    this.pollTimer ??= setInterval(() => this.readAll(), this.pollIntervalMs);
    this.heartbeatTimer ??= setInterval(() => this.heartbeat(), this.heartbeatIntervalMs);
  }

  private onNotify(n: Notification | null): void {
    // null: (re)connected, notifications may have been missed.
    for (const sub of this.subscribers) {
      if (n !== null && sub.workflowId !== n.workflowId) continue;
      // A waking worker needs no event, only the news: at once, not after the events' read
      // (which may hold them back for writers to finish) nor after every event of a batch.
      if (sub.wake && !sub.closed) sub.res.write(wakeFrame(n?.channel ?? null));
      if (sub.events) void this.read(sub);
    }
  }

  private readAll(): void {
    const now = Date.now();
    for (const sub of this.subscribers) {
      // A wake-only stream (a worker's) costs a transaction a minute, not one per notification
      // and per second: 150 pooled workers' streams otherwise kept the server's pool busy.
      if (sub.events) void this.read(sub);
      else if (now - sub.authenticatedAt >= this.reauthenticateMs) void this.recheckAccess(sub);
    }
  }

  /** Ends a wake-only stream whose token was revoked or expired, or whose workflow is gone. */
  private async recheckAccess(sub: Subscriber): Promise<void> {
    if (sub.closed || sub.reading) return;
    sub.reading = true;
    try {
      const { db } = this.opts.handle;
      const allowed = await db.transaction().execute(async (trx) => {
        if ((await apiTokensAuthenticate(trx, sub.token)) !== sub.role) return false;
        await setLocalRole(trx, sub.role);
        return (await workflowVisible(trx, sub.workflowId)) !== undefined;
      });
      if (!allowed) this.end(sub);
      else sub.authenticatedAt = Date.now();
      sub.failing = false;
    } catch (e) {
      this.failed(sub, e);
    } finally {
      sub.reading = false;
    }
  }

  private heartbeat(): void {
    for (const sub of this.subscribers) if (!sub.closed) sub.res.write(': heartbeat\n\n');
  }

  /** Sends what is new; a read asked for while one runs makes that one go round again. */
  private async read(sub: Subscriber): Promise<void> {
    if (sub.closed) return;
    if (sub.reading) {
      sub.again = true;
      return;
    }
    sub.reading = true;
    try {
      do {
        sub.again = false;
        const fetched = await this.fetch(sub);
        if (sub.closed) return;
        if (fetched === null) {
          this.end(sub);
          return;
        }
        const events = this.releasable(sub, fetched);
        for (const e of events) {
          sub.res.write(frame(e));
          sub.lastId = e.id;
        }
        if (fetched.events.length === BATCH && events.length > 0) sub.again = true;
        // A slow client: wait for its buffer to empty rather than read more into it.
        if (sub.res.writableNeedDrain) await drained(sub.res);
      } while (sub.again && !sub.closed);
      sub.failing = false;
    } catch (e) {
      this.failed(sub, e);
    } finally {
      sub.reading = false;
    }
  }

  /** The next notification or poll tries again; a failing stream says so once, not every second. */
  private failed(sub: Subscriber, e: unknown): void {
    if (!sub.failing) this.opts.log?.(`event stream of workflow ${sub.workflowId}: ${(e as Error).message}`);
    sub.failing = true;
  }

  /** What may be sent of what was read; holds the rest back (event-order-guard.ts). */
  private releasable(sub: Subscriber, f: Fetched): EventRow[] {
    const maxRead = f.events.at(-1)?.id ?? null;
    const { upTo, held } = releaseUpTo(sub.held, f.state, sub.lastId, maxRead, Date.now(), this.maxHoldMs);
    sub.held = held;
    const out = f.events.filter((e) => e.id <= upTo);
    if (maxRead === null || maxRead <= upTo) sub.recheckMs = RECHECK_MS;
    else if (!sub.recheck) {
      sub.recheck = setTimeout(() => {
        sub.recheck = null;
        void this.read(sub);
      }, sub.recheckMs);
      sub.recheck.unref();
      sub.recheckMs = Math.min(sub.recheckMs * 2, MAX_RECHECK_MS);
    }
    return out;
  }

  /** The events after the subscriber's last id, or null when the stream must end (workflow gone, token revoked). */
  private async fetch(sub: Subscriber): Promise<Fetched | null> {
    const { db } = this.opts.handle;
    if (Date.now() - sub.authenticatedAt >= this.reauthenticateMs) {
      const role = await db.transaction().execute((trx) => apiTokensAuthenticate(trx, sub.token));
      if (role !== sub.role) return null;
      sub.authenticatedAt = Date.now();
    }
    return db.transaction().execute(async (trx) => {
      await setLocalRole(trx, sub.role);
      if (!(await workflowVisible(trx, sub.workflowId))) return null;
      // First the writers, then the events: the events' snapshot is taken after (read committed).
      const state = await readWriterState(trx);
      const events = await eventsList(trx, sub.workflowId, { after: sub.lastId, limit: BATCH });
      return { events, state };
    });
  }

  private end(sub: Subscriber): void {
    this.drop(sub);
    sub.res.end();
  }

  private drop(sub: Subscriber): void {
    sub.closed = true;
    if (sub.recheck) clearTimeout(sub.recheck);
    this.subscribers.delete(sub);
  }
}
