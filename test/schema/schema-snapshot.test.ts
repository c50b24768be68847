import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  ACTION_RUN_STATUSES,
  ACTION_STATUSES,
  ACTION_TYPES,
  ACTIVE_JOB_STATUSES,
  ALLOCATION_STATUSES,
  CHANNELS,
  CLAIM_GATE_TRIGGER_TYPES,
  DONE_JOB_STATUSES,
  ERROR_CODES,
  EVENT_KINDS,
  JOB_STATUSES,
  TERMINAL_JOB_STATUSES,
  TRIGGER_TYPES,
  UNSUCCESSFUL_JOB_STATUSES,
  WORKER_STATUSES,
} from '@sluice/core';
import { describe, expect, inject, it } from 'vitest';
import { dumpSchema, generateDatabaseTypes } from '../support/schema-dump.js';
import { databaseUrl, useTestDatabase } from '../support/test-database.js';

const file = (p: string) => fileURLToPath(new URL(`../../${p}`, import.meta.url));
const SNAPSHOT = file('db/schema.sql');
const DATABASE_TYPES = file('packages/core/src/db/database-types.ts');
const MIGRATIONS = file('db/migrations');
const HASHES = file('db/migration-hashes.json');
const update = process.env.SLUICE_UPDATE_SCHEMA === '1';
const t = useTestDatabase('schema');

describe('db/schema.sql and the generated database types', () => {
  it('db/schema.sql matches what the migrations produce (run `pnpm db:codegen` after adding one)', () => {
    const actual = dumpSchema(databaseUrl(inject('pgTemplateDb')));
    if (update) writeFileSync(SNAPSHOT, actual);
    expect(actual).toBe(readFileSync(SNAPSHOT, 'utf8'));
  });

  it('packages/core/src/db/database-types.ts is what kysely-codegen makes of the migrated schema', () => {
    const actual = generateDatabaseTypes(databaseUrl(inject('pgTemplateDb')));
    if (update) writeFileSync(DATABASE_TYPES, actual);
    expect(actual).toBe(readFileSync(DATABASE_TYPES, 'utf8'));
  });
});

describe('landed migrations never change', () => {
  it('every migration file has the hash recorded when it landed (a change to the schema is a new migration)', () => {
    const recorded = JSON.parse(readFileSync(HASHES, 'utf8')) as Record<string, string>;
    const actual = Object.fromEntries(
      readdirSync(MIGRATIONS)
        .filter((f) => f.endsWith('.sql'))
        .sort()
        .map((f) => [
          f,
          createHash('sha256')
            .update(readFileSync(`${MIGRATIONS}/${f}`))
            .digest('hex'),
        ]),
    );
    // Updating records new files only: a landed migration's hash is never rewritten.
    if (update) writeFileSync(HASHES, `${JSON.stringify({ ...actual, ...recorded }, null, 2)}\n`);
    const now = update ? (JSON.parse(readFileSync(HASHES, 'utf8')) as Record<string, string>) : recorded;
    expect(actual).toEqual(now);
  });
});

describe('one vocabulary', () => {
  it('every TypeScript enum lists its SQL enum, in order', async () => {
    const rows = await t.query<{ name: string; labels: string[] }>(
      `SELECT t.typname AS name, array_agg(e.enumlabel::text ORDER BY e.enumsortorder) AS labels
         FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace JOIN pg_enum e ON e.enumtypid = t.oid
        WHERE n.nspname = 'sluice' GROUP BY t.typname ORDER BY t.typname`,
    );
    const twins: Record<string, readonly string[]> = {
      action_run_status: ACTION_RUN_STATUSES,
      action_type: ACTION_TYPES,
      allocation_status: ALLOCATION_STATUSES,
      event_kind: EVENT_KINDS,
      job_status: JOB_STATUSES,
      trigger_type: TRIGGER_TYPES,
      worker_status: WORKER_STATUSES,
      workflow_action_status: ACTION_STATUSES,
    };
    expect(Object.fromEntries(rows.map((r) => [r.name, r.labels]))).toEqual(twins);
  });

  it('each job status set is exactly what its SQL predicate accepts', async () => {
    const sets: Record<string, readonly string[]> = {
      active: ACTIVE_JOB_STATUSES,
      terminal: TERMINAL_JOB_STATUSES,
      done: DONE_JOB_STATUSES,
      unsuccessful: UNSUCCESSFUL_JOB_STATUSES,
    };
    for (const [name, members] of Object.entries(sets)) {
      const rows = await t.query<{ s: string }>(
        `SELECT s::text FROM unnest(enum_range(NULL::sluice.job_status)) s WHERE sluice.job_status_is_${name}(s)`,
      );
      expect(rows.map((r) => r.s)).toEqual([...members]);
    }
  });

  it('the claim gate holds jobs back for exactly the triggers CLAIM_GATE_TRIGGER_TYPES names', async () => {
    const [row] = await t.query<{ def: string }>(
      "SELECT pg_get_functiondef('sluice.jobs_claim_gate_open'::regproc) AS def",
    );
    const listed = /a\.trigger_type IN \(([^)]*)\)/.exec(row?.def ?? '')?.[1] ?? '';
    expect(listed.match(/'[a-z_]+'/g)?.map((x) => x.slice(1, -1))).toEqual([...CLAIM_GATE_TRIGGER_TYPES]);
  });

  it('SQL sends NOTIFY only on the channels the code listens to', async () => {
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

  it('every error code SQL raises in a HINT is in the error registry', async () => {
    const rows = await t.query<{ code: string }>(
      `SELECT DISTINCT m[1] AS code
         FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace,
              regexp_matches(p.prosrc, 'HINT\\s*=\\s*''([A-Za-z_]+)''', 'g') AS m
        WHERE n.nspname = 'sluice' ORDER BY 1`,
    );
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.map((r) => r.code).filter((c) => !(c in ERROR_CODES))).toEqual([]);
  });
});

describe('down migrations', () => {
  it('undo every migration, leaving only node-pg-migrate’s own table, and the schema comes back the same', async () => {
    const { runner } = await import('node-pg-migrate');
    const { MIGRATIONS_DIR } = await import('@sluice/core');
    const quiet = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };
    const run = (direction: 'up' | 'down') =>
      runner({
        databaseUrl: t.url,
        dir: MIGRATIONS_DIR,
        migrationsTable: 'migrations',
        migrationsSchema: 'sluice',
        direction,
        count: Number.POSITIVE_INFINITY,
        singleTransaction: true,
        log: () => {},
        logger: quiet,
      });
    await run('down');
    const left = await t.query<{ kind: string; name: string }>(
      `SELECT 'relation' AS kind, relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'sluice'
       UNION ALL SELECT 'function', proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname = 'sluice'
       UNION ALL SELECT 'type', typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
        WHERE n.nspname = 'sluice' AND t.typtype <> 'c' AND t.typelem = 0 AND t.typname NOT LIKE '\\_%'
       ORDER BY 1, 2`,
    );
    expect(left.map((r) => `${r.kind} ${r.name}`)).toEqual([
      'relation migrations',
      'relation migrations_id_seq',
      'relation migrations_pkey',
    ]);
    await run('up');
    expect(dumpSchema(t.url)).toBe(readFileSync(SNAPSHOT, 'utf8'));
  });
});
