/** Human output: aligned tables. Machine output (--json): JSON alone on stdout. */
export function formatTable<T extends object>(rows: readonly T[], columns: readonly (keyof T & string)[]): string {
  const cell = (v: unknown): string => {
    if (v === null || v === undefined) return '';
    if (v instanceof Date)
      return v
        .toISOString()
        .replace('T', ' ')
        .replace(/\.\d+Z$/, 'Z');
    if (typeof v === 'number' && !Number.isInteger(v)) return v.toFixed(2);
    if (typeof v === 'object') return JSON.stringify(v);
    return String(v);
  };
  const cells = rows.map((r) => columns.map((c) => cell(r[c])));
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((row) => (row[i] ?? '').length)));
  const line = (vals: readonly string[]) =>
    vals
      .map((v, i) => v.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return [line(columns), ...cells.map(line)].join('\n');
}

export function printJson(data: unknown): void {
  process.stdout.write(`${JSON.stringify(data, null, 2)}\n`);
}

export function printTable<T extends object>(rows: readonly T[], columns: readonly (keyof T & string)[]): void {
  process.stdout.write(`${formatTable(rows, columns)}\n`);
}
