import type { PageRequest } from '@sluice/core';
import { formatTable } from './output-format.js';

/** Rows a list command prints for a person when no --limit is given. */
const HUMAN_DEFAULT_LIMIT = 100;
/** Rows fetched per query while streaming JSON: memory stays bounded whatever the workflow's size. */
const STREAM_PAGE = 5_000;

export interface PagedListOptions<T> {
  json: boolean;
  page: PageRequest;
  columns: readonly (keyof T & string)[];
  /** plural noun for the note on stderr: "jobs", "results" */
  noun: string;
}

/** Awaits the drain of stdout when its buffer is full, so that a slow reader bounds memory. */
export function writeOut(chunk: string): Promise<void> | undefined {
  if (process.stdout.write(chunk)) return undefined;
  return new Promise((resolve) => process.stdout.once('drain', () => resolve()));
}

/**
 * Prints a list read page by page by id. JSON is one array, streamed: all rows unless --limit
 * caps them. People get at most --limit rows (100 by default) and a note on stderr saying how to
 * see the rest, since a table of a million rows helps no one.
 */
export async function printPagedList<T extends { id: number }>(
  fetch: (page: PageRequest) => Promise<T[]>,
  o: PagedListOptions<T>,
): Promise<void> {
  if (!o.json) {
    const limit = o.page.limit ?? HUMAN_DEFAULT_LIMIT;
    const rows = await fetch({ after: o.page.after, limit: limit + 1 });
    const shown = rows.slice(0, limit);
    process.stdout.write(`${formatTable(shown, o.columns)}\n`);
    const last = shown.at(-1);
    if (rows.length > limit && last)
      process.stderr.write(
        `showing ${shown.length} ${o.noun}; more follow: --after ${last.id} for the next page, ` +
          `--limit N for longer pages, --json for all\n`,
      );
    return;
  }
  let after = o.page.after;
  let left = o.page.limit ?? Number.POSITIVE_INFINITY;
  let first = true;
  await writeOut('[');
  while (left > 0) {
    const rows = await fetch({ after, limit: Math.min(STREAM_PAGE, left) });
    for (const r of rows) {
      const item = JSON.stringify(r, null, 2).replace(/\n/g, '\n  ');
      await writeOut(`${first ? '\n  ' : ',\n  '}${item}`);
      first = false;
    }
    const last = rows.at(-1);
    if (!last || rows.length < Math.min(STREAM_PAGE, left)) break;
    after = last.id;
    left -= rows.length;
  }
  await writeOut(first ? ']\n' : '\n]\n');
}
