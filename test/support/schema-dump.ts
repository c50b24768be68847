import { execFileSync } from 'node:child_process';

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
