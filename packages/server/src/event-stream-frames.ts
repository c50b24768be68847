import type { ServerResponse } from 'node:http';
import type { eventsList } from '@sluice/core';

/** The response headers of a server-sent event stream, and the client's reconnection delay. */
export function startEventStream(res: ServerResponse): void {
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  res.write('retry: 2000\n\n');
}

export type EventRow = Awaited<ReturnType<typeof eventsList>>[number];

export const frame = (e: EventRow) => `id: ${e.id}\nevent: ${e.kind}\ndata: ${JSON.stringify(e)}\n\n`;

/**
 * A notification of the workflow's channel, sent before its events are read: no id, so that
 * Last-Event-ID stays the last event's. The channel names what changed (jobs ready, actions
 * pending, the workflow's state); null after the server's LISTEN connection came back.
 */
export const wakeFrame = (channel: string | null) => `event: wake\ndata: ${JSON.stringify({ channel })}\n\n`;

export function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.once('drain', done);
    res.once('close', done);
  });
}
