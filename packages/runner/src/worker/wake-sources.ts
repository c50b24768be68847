import {
  CHANNELS,
  type Channel,
  NotificationListener,
  WORKER_STATUSES,
  WORKERS_HEARTBEAT_SQL,
  type WorkerStatus,
} from '@sluice/core';

/** How a worker learns that there may be work: the tables stay the truth, this only wakes it. */
export type WakeMode = 'listen' | 'sse' | 'poll';
export const WAKE_MODES = ['listen', 'sse', 'poll'] as const satisfies readonly WakeMode[];

/** What woke the worker: a channel, or null after (re)connecting, when anything may have been missed. */
export type WakeHint = Channel | null;

export interface WakeSource {
  start(): Promise<void>;
  stop(): Promise<void>;
  /**
   * Renews the worker's heartbeat on a path of the wake source's own when it has one (the
   * listener's connection, idle but for notifications; the API server for sse), so that a beat
   * never queues behind slow work; else, or when that path is down, through `viaPool`.
   * Resolves with the worker's status after the beat (null: it is not running any more).
   */
  heartbeat(workerId: number, viaPool: () => Promise<WorkerStatus | null>): Promise<WorkerStatus | null>;
}

export interface WakeSourceOptions {
  mode: WakeMode;
  url: string;
  workflowId: number;
  /** the API server, for sse: its event stream replaces the worker's own LISTEN connection */
  serverUrl?: string;
  apiToken?: string;
  /** senderPid: the notifying backend's process id, when the hint is a notification of the worker's own LISTEN */
  onWake: (hint: WakeHint, senderPid?: number) => void;
  log: (level: 'info' | 'warn' | 'error' | 'debug', msg: string) => void;
}

/**
 * listen: one LISTEN connection of the worker's own (2 connections in all). sse: the API
 * server's event stream of the workflow, so that workers can sit behind a transaction-mode pooler,
 * where LISTEN does not work (1 database connection). poll: nothing but the worker's poll (1).
 */
export function createWakeSource(o: WakeSourceOptions): WakeSource {
  if (o.mode === 'listen') return new ListenWakeSource(o);
  if (o.mode === 'sse') return new SseWakeSource(o);
  return { start: async () => {}, stop: async () => {}, heartbeat: (_id, viaPool) => viaPool() };
}

class ListenWakeSource implements WakeSource {
  private readonly listener: NotificationListener;

  constructor(o: WakeSourceOptions) {
    this.listener = new NotificationListener({
      url: o.url,
      onNotify: (n) => {
        if (n === null) o.onWake(null);
        else if (n.workflowId === o.workflowId) o.onWake(n.channel, n.senderPid);
      },
      onStateChange: (s, err) => {
        if (s === 'disconnected')
          o.log('warn', `notification connection lost (${err?.message ?? 'closed'}); polling until it is back`);
      },
    });
  }

  start(): Promise<void> {
    return this.listener.start();
  }

  stop(): Promise<void> {
    return this.listener.stop();
  }

  heartbeat(workerId: number, viaPool: () => Promise<WorkerStatus | null>): Promise<WorkerStatus | null> {
    if (!this.listener.connected) return viaPool();
    return this.listener
      .query<{ s: WorkerStatus | null }>(WORKERS_HEARTBEAT_SQL, [workerId])
      .then((rows) => rows[0]?.s ?? null);
  }
}

/**
 * The API server's event stream of the workflow, wake frames only, with reconnection. A
 * (re)connection wakes the worker: anything may have happened while it was not connected.
 */
class SseWakeSource implements WakeSource {
  private abort = new AbortController();
  private stopped = false;
  private running: Promise<void> | null = null;
  /** the last beat went through the database: the server could not be reached */
  private heartbeatFallback = false;

  constructor(private readonly o: WakeSourceOptions) {
    // resolveWorkerOptions refuses sse without a server: this is the in-process callers' guard.
    if (!o.serverUrl) throw new Error('--wake sse needs the API server: set SLUICE_SERVER_URL');
  }

  async start(): Promise<void> {
    this.running = this.loop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.abort.abort();
    await this.running?.catch(() => {});
  }

  /**
   * Through the server, whose connections to PostgreSQL are its own: behind a transaction-mode
   * pooler the worker's one connection queues behind every worker's claims, and 150 workers on
   * a pool of 20 fenced themselves for beats that waited there. When the server cannot be
   * reached (or no longer takes the token) the beat goes through the pool after all.
   */
  async heartbeat(workerId: number, viaPool: () => Promise<WorkerStatus | null>): Promise<WorkerStatus | null> {
    const url = new URL(`/api/v1/workers/${workerId}/heartbeat`, this.o.serverUrl);
    const headers: Record<string, string> = {};
    if (this.o.apiToken) headers.authorization = `Bearer ${this.o.apiToken}`;
    let why: string;
    try {
      const res = await fetch(url, { method: 'POST', headers, signal: AbortSignal.timeout(HEARTBEAT_REQUEST_MS) });
      // Not this user's worker, or gone: the database would say the same.
      if (res.status === 404) return null;
      if (res.ok) {
        const status = ((await res.json()) as { status?: unknown }).status;
        if (typeof status === 'string' && KNOWN_WORKER_STATUSES.has(status)) {
          this.heartbeatFallback = false;
          return status as WorkerStatus;
        }
        why = `an answer without a worker status`;
      } else why = `HTTP ${res.status}`;
    } catch (e) {
      why = e instanceof Error ? e.message : String(e);
    }
    if (!this.heartbeatFallback) {
      this.heartbeatFallback = true;
      this.o.log('warn', `heartbeat through ${this.o.serverUrl} failed (${why}); beating through the database`);
    }
    return viaPool();
  }

  private async loop(): Promise<void> {
    let backoff = 250;
    while (!this.stopped) {
      try {
        await this.stream();
        backoff = 250;
      } catch (e) {
        if (this.stopped) return;
        this.o.log('warn', `event stream from ${this.o.serverUrl}: ${e instanceof Error ? e.message : String(e)}`);
      }
      if (this.stopped) return;
      await new Promise((r) => setTimeout(r, backoff));
      backoff = Math.min(backoff * 2, 5_000);
    }
  }

  private async stream(): Promise<void> {
    const url = new URL(`/api/v1/workflows/${this.o.workflowId}/events/stream`, this.o.serverUrl);
    // Wake frames only: the server relays its LISTEN connection's notifications of the
    // workflow, which say all a LISTEN worker hears, and reads no events for this stream.
    url.searchParams.set('wake', 'true');
    url.searchParams.set('events', 'false');
    const headers: Record<string, string> = { accept: 'text/event-stream' };
    if (this.o.apiToken) headers.authorization = `Bearer ${this.o.apiToken}`;
    this.abort = new AbortController();
    const res = await fetch(url, { headers, signal: this.abort.signal });
    if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
    // Connected: anything may have happened while it was not.
    this.o.onWake(null);
    const decoder = new TextDecoder();
    let buffer = '';
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(chunk, { stream: true });
      for (let end = buffer.indexOf('\n\n'); end !== -1; end = buffer.indexOf('\n\n')) {
        const message = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        let kind = 'message';
        let data = '';
        for (const line of message.split('\n')) {
          if (line.startsWith('event:')) kind = line.slice(6).trim();
          else if (line.startsWith('data:')) data += line.slice(5).trim();
        }
        if (kind === 'wake') this.o.onWake(wakeChannel(data));
      }
    }
  }
}

const KNOWN_CHANNELS = new Set<string>(Object.values(CHANNELS));
const KNOWN_WORKER_STATUSES = new Set<string>(WORKER_STATUSES);
/** A beat through the server that takes longer than this goes through the database instead. */
const HEARTBEAT_REQUEST_MS = 5_000;

/** The channel of a wake frame; null (anything may have changed) when it names none we know. */
function wakeChannel(data: string): WakeHint {
  try {
    const channel = (JSON.parse(data) as { channel?: unknown }).channel;
    return typeof channel === 'string' && KNOWN_CHANNELS.has(channel) ? (channel as Channel) : null;
  } catch {
    return null;
  }
}
