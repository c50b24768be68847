// The results: a table on stdout, bench/results/latest.json (the entries), latest-run.json
// (machine, server, every repetition) and latest.md (the table as Markdown, for BENCHMARKS.md).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { BENCH_DIR, REPO_DIR } from './child-process-harness.mjs';

export const RESULTS_DIR = path.join(BENCH_DIR, 'results');

const fmt = (x) => {
  if (x === null || x === undefined) return '-';
  if (typeof x !== 'number') return String(x);
  const a = Math.abs(x);
  if (a >= 1000) return Math.round(x).toLocaleString('en-US');
  if (a >= 100) return x.toFixed(0);
  if (a >= 10) return x.toFixed(1);
  return x.toFixed(2);
};
const metText = (m) => (m === true ? 'met' : m === false ? 'MISSED' : '-');

const columns = (e) => [
  e.name,
  `${fmt(e.value)} ${e.unit}`,
  e.baseline ?? '-',
  e.baseline_value === null ? '-' : `${fmt(e.baseline_value)} ${e.unit}`,
  e.ratio === null ? '-' : `${fmt(e.ratio)}x`,
  e.target ?? '-',
  metText(e.met),
];
const HEAD = ['figure', 'value', 'baseline', 'baseline value', 'ratio', 'target', 'met'];

export function printTable(entries, write = (s) => process.stdout.write(s)) {
  const rows = [HEAD, ...entries.map(columns)];
  const widths = HEAD.map((_, i) => Math.min(60, Math.max(...rows.map((r) => String(r[i]).length))));
  const line = (r) => r.map((c, i) => String(c).slice(0, 60).padEnd(widths[i])).join('  ');
  write(`\n${line(rows[0])}\n${widths.map((w) => '-'.repeat(w)).join('  ')}\n`);
  for (const r of rows.slice(1)) write(`${line(r)}\n`);
  for (const e of entries) if (e.note) write(`  ${e.name}: ${e.note}\n`);
}

export function markdownTable(entries) {
  const esc = (s) => String(s).replace(/\|/g, '\\|');
  const out = [`| ${HEAD.join(' | ')} |`, `|${HEAD.map(() => '---').join('|')}|`];
  for (const e of entries) out.push(`| ${columns(e).map(esc).join(' | ')} |`);
  const notes = entries.filter((e) => e.note).map((e) => `- \`${e.name}\`: ${e.note}`);
  return `${out.join('\n')}\n${notes.length ? `\n${notes.join('\n')}\n` : ''}`;
}

const KEYS = ['name', 'value', 'unit', 'baseline', 'baseline_value', 'ratio', 'target', 'met'];

export function writeResults(entries, run) {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const clean = entries.map((e) => Object.fromEntries(KEYS.map((k) => [k, e[k] ?? null])));
  writeFileSync(path.join(RESULTS_DIR, 'latest.json'), `${JSON.stringify(clean, null, 2)}\n`);
  writeFileSync(path.join(RESULTS_DIR, 'latest-run.json'), `${JSON.stringify({ ...run, entries }, null, 2)}\n`);
  writeFileSync(path.join(RESULTS_DIR, 'latest.md'), markdownTable(entries));
  // The files are committed: leave them as the repository's formatter wants them.
  const biome = path.join(REPO_DIR, 'node_modules/.bin/biome');
  if (existsSync(biome))
    spawnSync(biome, ['format', '--write', 'latest.json', 'latest-run.json'], { cwd: RESULTS_DIR, stdio: 'ignore' });
}
