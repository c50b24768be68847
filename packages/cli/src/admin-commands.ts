import { apiTokensCreate, apiTokensList, apiTokensRevoke, rolesAddUser, SluiceError } from '@sluice/core';
import type { Command } from 'commander';
import { z } from 'zod';
import { globals, withDatabase } from './cli-context.js';
import { parseFlag } from './cli-options.js';
import { printJson, printTable } from './output-format.js';

/** `30d`, `12h`, `90m`, `3600s` or `never`. */
const Expiry = z.string().transform((s, ctx) => {
  if (s === 'never') return null;
  const m = /^([1-9][0-9]{0,5})([smhd])$/.exec(s);
  if (m) return Number(m[1]) * { s: 1, m: 60, h: 3600, d: 86_400 }[m[2] as 's' | 'm' | 'h' | 'd'];
  ctx.addIssue({ code: 'custom', message: 'expected a duration like 30d, 12h, 90m, 3600s, or never' });
  return z.NEVER;
});
const TokenId = z
  .string()
  .regex(/^[1-9][0-9]{0,15}$/, 'expected a token id (see `sluice tokens list`)')
  .transform(Number);

export function registerAdminCommands(program: Command): void {
  const admin = program.command('admin').description('site administration (run by a role that may create roles)');
  admin
    .command('add-user <name>')
    .description('make NAME a Sluice user: a login role in sluice_users that the API server may act as')
    .option('--json', 'machine output')
    .action(async (name: string, _o, cmd: Command) => {
      const g = globals(cmd);
      const r = await withDatabase(g, (h) => rolesAddUser(h.db, name));
      if (g.json) printJson({ user: name, ...r });
      else process.stdout.write(`${r.created ? 'created' : 'updated'} user ${name} (member of sluice_users)\n`);
    });

  const tokens = program.command('tokens').description('your API tokens for `sluice server`');
  tokens
    .command('create')
    .description('create an API token for yourself; it is printed once')
    .option('--name <name>', 'what the token is for')
    .option('--expires <duration>', 'lifetime: 30d, 12h, 90m, 3600s or never', '30d')
    .option('--json', 'machine output: {"token": "..."}')
    .action(async (o: { name?: string; expires: string }, cmd: Command) => {
      const g = globals(cmd);
      const seconds = parseFlag(Expiry, '--expires', o.expires);
      const name = o.name === undefined ? null : parseFlag(z.string().min(1).max(200), '--name', o.name);
      const { token, row } = await withDatabase(g, (h) => apiTokensCreate(h.db, name, seconds));
      if (g.json) printJson({ token, id: row.id, expires_at: row.expires_at });
      else
        process.stdout.write(
          `${token}\n(token ${row.id}${row.expires_at ? `, expires ${row.expires_at.toISOString()}` : ''}; it is not shown again)\n`,
        );
    });
  tokens
    .command('list')
    .description('your tokens (never the tokens themselves)')
    .option('--json', 'machine output')
    .action(async (_o, cmd: Command) => {
      const g = globals(cmd);
      const rows = await withDatabase(g, (h) => apiTokensList(h.db));
      if (g.json) printJson(rows);
      else printTable(rows, ['id', 'owner_role', 'name', 'created_at', 'expires_at', 'revoked_at', 'last_used_at']);
    });
  tokens
    .command('revoke <id>')
    .description('revoke one of your tokens')
    .option('--json', 'machine output')
    .action(async (id: string, _o, cmd: Command) => {
      const g = globals(cmd);
      const tokenId = parseFlag(TokenId, 'token-id', id);
      const ok = await withDatabase(g, (h) => apiTokensRevoke(h.db, tokenId));
      if (!ok) throw new SluiceError('TOKEN_NOT_FOUND', `token ${tokenId} does not exist, is not yours, or is revoked`);
      if (g.json) printJson({ id: tokenId, revoked: true });
      else process.stdout.write(`token ${tokenId} revoked\n`);
    });
}
