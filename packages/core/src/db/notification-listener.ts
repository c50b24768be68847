import pg from 'pg';
import { CHANNELS, type Channel } from '../model.js';
import { pgClientConfig } from './connection.js';

export interface Notification {
  channel: Channel;
  workflowId: number;
  /** the process id of the backend whose transaction notified */
  senderPid: number;
}

export interface NotificationListenerOptions {
  url: string;
  /** called for each notification, and with `null` after (re)connecting: notifications may have been missed */
  onNotify: (n: Notification | null) => void;
  onStateChange?: (state: 'connected' | 'disconnected', error?: Error) => void;
  minBackoffMs?: number;
  maxBackoffMs?: number;
}

const ALL_CHANNELS = Object.values(CHANNELS);

/**
 * One dedicated LISTEN connection per process. When it drops, it reconnects with exponential
 * backoff; callers keep polling slowly meanwhile, because the tables, not the notifications,
 * are the truth.
 */
export class NotificationListener {
  private client: pg.Client | null = null;
  private stopped = false;
  private backoffMs: number;
  private retryTimer: NodeJS.Timeout | null = null;
  private readonly opts: Required<Omit<NotificationListenerOptions, 'onStateChange'>> &
    Pick<NotificationListenerOptions, 'onStateChange'>;

  constructor(opts: NotificationListenerOptions) {
    this.opts = { minBackoffMs: 100, maxBackoffMs: 5000, ...opts };
    this.backoffMs = this.opts.minBackoffMs;
  }

  get connected(): boolean {
    return this.client !== null;
  }

  /** Resolves after the first connection attempt, whether or not it succeeded. */
  async start(): Promise<void> {
    await this.connect();
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    const client = new pg.Client(pgClientConfig(this.opts.url, 'sluice-listener'));
    let failed = false;
    const onLost = (err?: Error) => {
      if (failed) return;
      failed = true;
      client.removeAllListeners('notification');
      client.end().catch(() => {});
      if (this.client === client) this.client = null;
      this.opts.onStateChange?.('disconnected', err);
      this.scheduleReconnect();
    };
    client.on('error', onLost);
    client.on('end', () => onLost());
    client.on('notification', (msg) => {
      const workflowId = Number(msg.payload);
      if (Number.isFinite(workflowId)) {
        this.opts.onNotify({ channel: msg.channel as Channel, workflowId, senderPid: msg.processId });
      }
    });
    try {
      await client.connect();
      for (const ch of ALL_CHANNELS) await client.query(`LISTEN ${pg.escapeIdentifier(ch)}`);
    } catch (e) {
      onLost(e as Error);
      return;
    }
    if (this.stopped) {
      failed = true;
      await client.end().catch(() => {});
      return;
    }
    this.client = client;
    this.backoffMs = this.opts.minBackoffMs;
    this.opts.onStateChange?.('connected');
    this.opts.onNotify(null);
  }

  private scheduleReconnect(): void {
    if (this.stopped || this.retryTimer) return;
    const delay = this.backoffMs;
    this.backoffMs = Math.min(this.backoffMs * 2, this.opts.maxBackoffMs);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      void this.connect();
    }, delay);
    this.retryTimer.unref();
  }

  /**
   * Runs one statement on the listening connection. A worker's heartbeat goes this way: that
   * connection is idle but for notifications, so a beat never queues behind slow work.
   */
  async query<T extends pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<T[]> {
    const c = this.client;
    if (!c) throw new Error('the notification connection is down');
    return (await c.query<T>(text, values)).rows;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    const c = this.client;
    this.client = null;
    if (c) {
      c.removeAllListeners();
      c.on('error', () => {});
      await c.end().catch(() => {});
    }
  }
}
