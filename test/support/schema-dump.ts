import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = fileURLToPath(new URL('../../', import.meta.url));

/**
 * A schema-only dump of the sluice schema, stable across runs: no owners, no privileges, and
 * none of the lines pg_dump writes about itself (version banners, \restrict keys).
 */
export function dumpSchema(url: string): string {
  const raw = execFileSync('pg_dump', ['--schema-only', '--schema=sluice', '--no-owner', '--no-privileges', url], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  return `${raw
    .split('\n')
    .filter((l) => !/^-- Dumped (from|by)/.test(l) && !/^\\(un)?restrict /.test(l) && !/^SET /.test(l))
    .filter((l) => !/^SELECT pg_catalog\.set_config/.test(l))
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim()}\n`;
}

/**
 * The kysely types of the sluice schema as kysely-codegen writes them from a migrated database.
 * int8 is a number because connection.ts parses it so (ids and counts stay below 2^53), and
 * interval text because connection.ts leaves it unparsed.
 */
export function generateDatabaseTypes(url: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sluice-codegen-'));
  const out = path.join(dir, 'database-types.ts');
  try {
    execFileSync(
      path.join(REPO, 'node_modules/.bin/kysely-codegen'),
      [
        '--dialect',
        'postgres',
        '--url',
        url,
        '--include-pattern',
        'sluice.*',
        '--type-mapping',
        JSON.stringify({ int8: 'number', interval: 'string' }),
        '--log-level',
        'error',
        '--out-file',
        out,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'], cwd: REPO },
    );
    return readFileSync(out, 'utf8');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
