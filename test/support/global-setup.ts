import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { migrate } from '@sluice/core';
import pg from 'pg';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    pgAdminUrl: string;
    pgTemplateDb: string;
    pgRunId: string;
  }
}

async function answers(url: string): Promise<boolean> {
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  try {
    await c.connect();
    await c.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await c.end().catch(() => {});
  }
}

function dockerAnswers(): boolean {
  try {
    execFileSync('docker', ['info'], { stdio: 'ignore', timeout: 5000 });
    return true;
  } catch {
    return false;
  }
}

/**
 * The server for the whole run: SLUICE_TEST_DATABASE_URL, else one on 127.0.0.1:5432, else a
 * testcontainers PostgreSQL where Docker answers, else the embedded server in a temp home.
 */
async function findServer(): Promise<{ url: string; stop?: () => Promise<void> }> {
  if (process.env.SLUICE_TEST_DATABASE_URL) return { url: process.env.SLUICE_TEST_DATABASE_URL };
  const local = 'postgres://postgres@127.0.0.1:5432/postgres';
  if (await answers(local)) return { url: local };
  if (dockerAnswers()) {
    const { PostgreSqlContainer } = await import('@testcontainers/postgresql');
    const container = await new PostgreSqlContainer('postgres:15').start();
    const url = container.getConnectionUri().replace(/\/[^/]*$/, '/postgres');
    return { url, stop: async () => void (await container.stop()) };
  }
  const { ensureEmbeddedServer, stopEmbeddedServer } = await import('@sluice/embedded');
  const home = mkdtempSync(path.join(os.tmpdir(), 'sluice-test-pg-'));
  const { url } = await ensureEmbeddedServer({ home });
  return { url: url.replace(/\/[^/]*$/, '/postgres'), stop: async () => void (await stopEmbeddedServer({ home })) };
}

function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function withDatabase(url: string, db: string): string {
  const u = new URL(url);
  u.pathname = `/${db}`;
  return u.toString();
}

export default async function setup(project: TestProject) {
  const server = await findServer();
  const template = `sluice_test_template_${process.pid}_db`;
  const admin = new pg.Client({ connectionString: server.url });
  await admin.connect();
  // Databases of an earlier run's failing tests were kept for inspection; a new run clears
  // them, but not those of a run still going on (another checkout, a helper's run).
  const stale = await admin.query<{ datname: string }>(
    "SELECT datname FROM pg_database WHERE datname ~ '^sluice_test_(template_)?[0-9]+_' AND NOT datistemplate",
  );
  for (const { datname } of stale.rows) {
    const pid = Number(/^sluice_test_(?:template_)?([0-9]+)_/.exec(datname)?.[1]);
    if (!processAlive(pid)) await admin.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
  }
  await admin.query(`DROP DATABASE IF EXISTS "${template}"`);
  await admin.query(`CREATE DATABASE "${template}"`);
  await migrate(withDatabase(server.url, template));
  project.provide('pgAdminUrl', server.url);
  project.provide('pgTemplateDb', template);
  project.provide('pgRunId', String(process.pid));
  await admin.end();

  return async () => {
    const c = new pg.Client({ connectionString: server.url });
    await c.connect();
    await c.query(`DROP DATABASE IF EXISTS "${template}" WITH (FORCE)`);
    await c.end();
    await server.stop?.();
  };
}
