/** The one-line errors of the embedded server, and the reasons from tool or server output they quote. */
import { SluiceError } from '@sluice/core';

export function fail(message: string): SluiceError {
  return new SluiceError('EMBEDDED_PG_FAILED', oneLine(message));
}

export function oneLine(s: string): string {
  const line = s.replace(/\s+/g, ' ').trim();
  return line.length > 400 ? `${line.slice(0, 397)}...` : line;
}

/** The lines of tool or server output that say what went wrong, as one line. */
export function reason(output: string): string {
  const lines = output
    .split(/\r?\n/)
    .map((s) => s.trim())
    .filter(Boolean);
  const fatal = lines.findIndex((s) => /\b(FATAL|PANIC):/.test(s));
  if (fatal >= 0) {
    // The server often says why in the lines just before its FATAL ("unrecognized
    // configuration parameter ..." before "configuration file ... contains errors").
    const pid = /\[(\d+)\]/.exec(lines[fatal] ?? '')?.[1];
    const before = pid
      ? lines
          .slice(0, fatal)
          .filter((s) => s.includes(`[${pid}]`))
          .slice(-2)
      : [];
    return oneLine([lines[fatal] ?? '', ...before].map(withoutLogPrefix).join('; '));
  }
  const hit =
    lines.find((s) => /\bERROR:|\berror:/.test(s)) ??
    lines.filter((s) => !/^(pg_ctl: )?(could not start server|Examine the log output)/.test(s)).at(-1) ??
    lines.at(-1);
  return hit ? oneLine(withoutLogPrefix(hit)) : 'no output';
}

/** Drops a server log line's timestamp and pid. */
function withoutLogPrefix(line: string): string {
  const at = line.search(/\b(FATAL|PANIC|ERROR|WARNING|LOG|HINT|DETAIL):/);
  return at > 0 ? line.slice(at) : line;
}
