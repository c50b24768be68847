import net from 'node:net';

/** Splits the server's byte stream into protocol messages (type byte, int32 length) and names each. */
class BackendFramer {
  private header: number[] = [];
  private remaining = 0;
  private type = '';

  /** The types of the messages this chunk completes, in order. */
  feed(chunk: Buffer): string[] {
    const done: string[] = [];
    let i = 0;
    while (i < chunk.length) {
      if (this.remaining > 0) {
        const n = Math.min(this.remaining, chunk.length - i);
        this.remaining -= n;
        i += n;
        if (this.remaining === 0) done.push(this.type);
        continue;
      }
      this.header.push(chunk[i] as number);
      i++;
      if (this.header.length === 5) {
        this.type = String.fromCharCode(this.header[0] as number);
        this.remaining = Buffer.from(this.header.slice(1)).readInt32BE(0) - 4;
        this.header = [];
        if (this.remaining <= 0) {
          this.remaining = 0;
          done.push(this.type);
        }
      }
    }
    return done;
  }
}

interface Pair {
  client: net.Socket;
  upstream: net.Socket | null;
  toUpstream: Buffer[];
  toClient: Buffer[];
  framer: BackendFramer;
  /** the reply to a matched message is being swallowed; the pair dies at its ReadyForQuery */
  dropping: (() => void) | null;
  /** a held message: nothing goes upstream until released */
  holdUpstream: boolean;
  closed: boolean;
}

interface Matcher {
  match: (clientBytes: Buffer) => boolean;
  onMatch: (pair: Pair) => void;
}

export interface HeldMessage {
  /** resolves once a matching message arrived and is being held back */
  held: Promise<void>;
  /** forwards the held message (and what followed it) to the server */
  release(): void;
}

/**
 * A TCP proxy between workers and PostgreSQL that the test controls:
 * - cut(): a partition. Bytes stop flowing both ways on every current and new connection, but
 *   no socket is closed; restore() delivers what was held back, as TCP would after a short one.
 * - reset(): every connection is reset (RST).
 * - dropNextReply(match): the next client message matching goes to the server (and commits),
 *   the server's reply is swallowed up to its ReadyForQuery, then the connection is reset.
 * - holdNext(match): the next matching client message is held back until released.
 */
export class FaultProxy {
  private readonly pairs = new Set<Pair>();
  private readonly matchers: Matcher[] = [];
  private cutting = false;
  private server!: net.Server;
  port = 0;
  /** connections accepted so far */
  accepted = 0;

  private constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {}

  static async start(targetUrl: string): Promise<FaultProxy> {
    const u = new URL(targetUrl);
    const p = new FaultProxy(u.hostname, Number(u.port || 5432));
    p.server = net.createServer((c) => p.accept(c));
    await new Promise<void>((resolve) => p.server.listen(0, '127.0.0.1', resolve));
    p.port = (p.server.address() as net.AddressInfo).port;
    return p;
  }

  /** `url` with its host and port replaced by the proxy's. */
  url(url: string): string {
    const u = new URL(url);
    u.hostname = '127.0.0.1';
    u.port = String(this.port);
    return u.toString();
  }

  get connections(): number {
    return [...this.pairs].filter((p) => !p.closed).length;
  }

  get isCut(): boolean {
    return this.cutting;
  }

  cut(): void {
    this.cutting = true;
  }

  restore(): void {
    this.cutting = false;
    for (const p of this.pairs) {
      if (p.closed) continue;
      if (!p.upstream) this.connectUpstream(p);
      else this.flush(p);
    }
  }

  reset(): void {
    for (const p of this.pairs) this.closePair(p);
  }

  /** Resolves when a matching message was sent, its reply swallowed and its connection reset. */
  dropNextReply(match: (clientBytes: Buffer) => boolean): Promise<void> {
    return new Promise((resolve) => {
      this.matchers.push({
        match,
        onMatch: (pair) => {
          pair.dropping = resolve;
        },
      });
    });
  }

  holdNext(match: (clientBytes: Buffer) => boolean): HeldMessage {
    let onHeld: () => void = () => {};
    const held = new Promise<void>((resolve) => {
      onHeld = resolve;
    });
    let heldPair: Pair | null = null;
    let released = false;
    this.matchers.push({
      match,
      onMatch: (pair) => {
        if (released) return;
        heldPair = pair;
        pair.holdUpstream = true;
        onHeld();
      },
    });
    return {
      held,
      release: () => {
        released = true;
        const pair = heldPair as Pair | null;
        if (pair) {
          pair.holdUpstream = false;
          this.flush(pair);
        }
      },
    };
  }

  async close(): Promise<void> {
    this.reset();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: net.Socket): void {
    this.accepted++;
    const p: Pair = {
      client,
      upstream: null,
      toUpstream: [],
      toClient: [],
      framer: new BackendFramer(),
      dropping: null,
      holdUpstream: false,
      closed: false,
    };
    this.pairs.add(p);
    client.setNoDelay(true);
    client.on('data', (chunk) => {
      p.toUpstream.push(chunk);
      if (!p.holdUpstream) {
        const m = this.matchers.findIndex((x) => x.match(chunk));
        if (m >= 0) this.matchers.splice(m, 1)[0]?.onMatch(p);
      }
      this.flush(p);
    });
    client.on('error', () => this.closePair(p));
    client.on('close', () => this.closePair(p));
    if (!this.cutting) this.connectUpstream(p);
  }

  private connectUpstream(p: Pair): void {
    const up = net.connect({ host: this.targetHost, port: this.targetPort });
    up.setNoDelay(true);
    p.upstream = up;
    up.on('connect', () => this.flush(p));
    up.on('data', (chunk) => {
      const types = p.framer.feed(chunk);
      if (p.dropping) {
        if (types.includes('Z')) {
          const resolve = p.dropping;
          p.dropping = null;
          this.closePair(p);
          resolve();
        }
        return;
      }
      p.toClient.push(chunk);
      this.flush(p);
    });
    up.on('error', () => this.closePair(p));
    up.on('close', () => this.closePair(p));
  }

  private flush(p: Pair): void {
    if (this.cutting || p.closed) return;
    const up = p.upstream;
    if (up && !up.connecting && !p.holdUpstream) {
      for (const b of p.toUpstream.splice(0)) up.write(b);
    }
    for (const b of p.toClient.splice(0)) p.client.write(b);
  }

  private closePair(p: Pair): void {
    if (p.closed) return;
    p.closed = true;
    for (const s of [p.client, p.upstream]) {
      if (!s || s.destroyed) continue;
      if (typeof s.resetAndDestroy === 'function' && !s.connecting) s.resetAndDestroy();
      else s.destroy();
    }
  }
}
