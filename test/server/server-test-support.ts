import { apiTokensCreate, openPool, type SluiceDb } from '@sluice/core';
import { type BuildAppOptions, buildApp, type SluiceApp } from '@sluice/server';
import pg from 'pg';
import { afterAll, beforeAll, expect, inject } from 'vitest';
import { runCli } from '../support/cli-runner.js';
import type { TestDatabase } from '../support/test-database.js';

/** A site user: a real role made by `sluice admin add-user`, a pool connected as it, and a token. */
export interface SiteUser {
  role: string;
  url: string;
  handle: SluiceDb;
  token: string;
  /** `Authorization: Bearer <token>` */
  auth: { authorization: string };
}

export interface ServerSite {
  /** the server's role: a login member of sluice_server, as on a site */
  serverRole: string;
  serverUrl: string;
  users: Record<string, SiteUser>;
  /** an app built as the server's role (closed after the file) */
  app(): SluiceApp;
  /** the server role's pool that app() uses */
  serverHandle(): SluiceDb;
}

export function urlAs(t: TestDatabase, role: string): string {
  const u = new URL(t.url);
  u.username = role;
  return u.toString();
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/**
 * Real roles for one test file, with unique names (roles belong to the whole cluster), dropped
 * after it: users made with `sluice admin add-user` (an `admin` one is also made a sluice_admin
 * member), and a server role that is a member of sluice_server.
 */
export function useServerSite(t: TestDatabase, userNames: string[], appOptions: Partial<BuildAppOptions> = {}) {
  const suffix = `${inject('pgRunId')}_${Math.random().toString(36).slice(2, 7)}`;
  const serverRole = `srv_${suffix}`;
  const site: ServerSite = {
    serverRole,
    serverUrl: urlAs(t, serverRole),
    users: {},
    app: () => {
      if (!app) throw new Error('the site is not set up yet');
      return app;
    },
    serverHandle: () => {
      if (!serverHandle) throw new Error('the site is not set up yet');
      return serverHandle;
    },
  };
  let app: SluiceApp | undefined;
  let serverHandle: SluiceDb | undefined;

  beforeAll(async () => {
    await t.query(`CREATE ROLE "${serverRole}" LOGIN IN ROLE sluice_server`);
    for (const name of userNames) {
      const role = `${name}_${suffix}`;
      const made = await runCli(['admin', 'add-user', role], { env: { SLUICE_DATABASE_URL: t.url } });
      expect(made.code, made.stderr).toBe(0);
      if (name === 'admin') await t.query(`GRANT sluice_admin TO "${role}"`);
      const url = urlAs(t, role);
      const handle = openPool(url, { max: 2 });
      const { token } = await apiTokensCreate(handle.db, `${name} test`, null);
      site.users[name] = { role, url, handle, token, auth: bearer(token) };
    }
    serverHandle = openPool(site.serverUrl, { max: 4 });
    app = buildApp({ db: serverHandle, ...appOptions });
    await app.ready();
  });

  afterAll(async () => {
    await app?.close();
    await serverHandle?.close();
    for (const u of Object.values(site.users)) await u.handle.close();
    const c = new pg.Client({ connectionString: t.url });
    await c.connect();
    try {
      for (const role of [serverRole, ...Object.values(site.users).map((u) => u.role)]) {
        await c.query(`DROP ROLE IF EXISTS "${role}"`);
      }
    } finally {
      await c.end();
    }
  });
  return site;
}

export { bearer };

/** A small YAML spec: `n` independent echo jobs. */
export function yamlSpec(name: string, jobs = 2): string {
  const lines = [`name: ${name}`, 'jobs:'];
  for (let i = 1; i <= jobs; i++) lines.push(`  - name: job${i}`, `    command: echo ${name} ${i}`);
  return `${lines.join('\n')}\n`;
}

/** One server-sent event (or comment) as a client sees it. */
export interface SseFrame {
  id?: string;
  event?: string;
  data?: string;
  retry?: string;
  comment?: string;
}

export interface SseClient {
  status: number;
  contentType: string | null;
  frames: SseFrame[];
  /** the events (frames with an event name) so far */
  events(): SseFrame[];
  /** resolves when the server ended the stream */
  ended: Promise<void>;
  isEnded(): boolean;
  close(): void;
  /** the body of a response that is not a stream (an error) */
  text?: string;
}

/** Reads a text/event-stream response frame by frame, as EventSource would. */
export async function openEventStream(url: string, headers: Record<string, string>): Promise<SseClient> {
  const abort = new AbortController();
  const res = await fetch(url, { headers, signal: abort.signal });
  const frames: SseFrame[] = [];
  let ended = false;
  const client: SseClient = {
    status: res.status,
    contentType: res.headers.get('content-type'),
    frames,
    events: () => frames.filter((f) => f.event !== undefined),
    ended: Promise.resolve(),
    isEnded: () => ended,
    close: () => abort.abort(),
  };
  if (!res.ok || !res.body) {
    client.text = await res.text();
    ended = true;
    return client;
  }
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  client.ended = (async () => {
    let buffer = '';
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        for (let cut = buffer.indexOf('\n\n'); cut >= 0; cut = buffer.indexOf('\n\n')) {
          frames.push(parseFrame(buffer.slice(0, cut)));
          buffer = buffer.slice(cut + 2);
        }
      }
    } catch {
      // aborted by close()
    } finally {
      ended = true;
    }
  })();
  return client;
}

function parseFrame(block: string): SseFrame {
  const frame: SseFrame = {};
  for (const line of block.split('\n')) {
    if (line.startsWith(':')) frame.comment = line.slice(1).trim();
    else {
      const colon = line.indexOf(':');
      const field = line.slice(0, colon) as keyof SseFrame;
      const value = line.slice(colon + 1).replace(/^ /, '');
      if (field === 'data' && frame.data !== undefined) frame.data += `\n${value}`;
      else frame[field] = value;
    }
  }
  return frame;
}
