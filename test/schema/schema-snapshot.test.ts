import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, inject, it } from 'vitest';
import { CHANNELS } from '@sluice/core';
import { dumpSchema } from '../support/schema-dump.js';
import { databaseUrl, useTestDatabase } from '../support/test-database.js';

const SNAPSHOT = fileURLToPath(new URL('../../db/schema.sql', import.meta.url));
const t = useTestDatabase('schema');

describe('db/schema.sql', () => {
  it('matches what the migrations produce (run `pnpm db:dump-schema` after adding one)', () => {
    const actual = dumpSchema(databaseUrl(inject('pgTemplateDb')));
    if (process.env.SLUICE_UPDATE_SCHEMA === '1') writeFileSync(SNAPSHOT, actual);
    expect(actual).toBe(readFileSync(SNAPSHOT, 'utf8'));
  });

  it('sends NOTIFY only on the channels the code listens to', async () => {
    const rows = await t.query<{ channel: string }>(
      `SELECT DISTINCT m[1] AS channel
         FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace,
              regexp_matches(p.prosrc, 'pg_notify\\(''([a-z_]+)''', 'g') AS m
        WHERE n.nspname = 'sluice'`,
    );
    const known: string[] = Object.values(CHANNELS);
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.map((r) => r.channel).filter((c) => !known.includes(c))).toEqual([]);
  });
});
