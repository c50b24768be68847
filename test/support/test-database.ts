import { randomBytes } from 'node:crypto';
import { openPool, type SluiceDb } from '@sluice/core';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, inject } from 'vitest';

export function databaseUrl(db: string): string {
  const u = new URL(inject('pgAdminUrl'));
  u.pathname = `/${db}`;
  return u.toString();
}

export interface TestDatabase {
  name: string;
  url: string;
  /** a pool for the test itself */
  handle: SluiceDb;
  query<T extends pg.QueryResultRow = Record<string, unknown>>(text: string, params?: unknown[]): Promise<T[]>;
}

/**
 * A database of its own for one test file, cloned from the migrated template, so files run in
 * parallel. It is dropped after the file, unless a test failed: then it stays for inspection.
 */
export function useTestDatabase(label: string): TestDatabase {
  const file = label.replace(/[^a-z0-9]+/gi, '_');
  const name = `sluice_test_${inject('pgRunId')}_${file.slice(0, 30)}_${randomBytes(3).toString('hex')}`.toLowerCase();
  const url = databaseUrl(name);
  let failed = false;
  const t: TestDatabase = {
    name,
    url,
    handle: undefined as unknown as SluiceDb,
    async query(text, params) {
      const r = await t.handle.pool.query(text, params as unknown[]);
      return r.rows;
    },
  };

  beforeAll(async () => {
    const admin = new pg.Client({ connectionString: inject('pgAdminUrl') });
    await admin.connect();
    try {
      await admin.query(`CREATE DATABASE "${name}" TEMPLATE "${inject('pgTemplateDb')}"`);
    } finally {
      await admin.end();
    }
    t.handle = openPool(url, { max: 4 });
  });
  afterEach((ctx) => {
    if (ctx.task.result?.state === 'fail') failed = true;
  });
  afterAll(async () => {
    await t.handle?.close();
    if (failed) {
      process.stderr.write(`kept database ${name} of failing tests for inspection\n`);
      return;
    }
    const admin = new pg.Client({ connectionString: inject('pgAdminUrl') });
    await admin.connect();
    try {
      await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    } finally {
      await admin.end();
    }
  });
  return t;
}
