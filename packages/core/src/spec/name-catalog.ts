import { type JobInstance, type JobListKey, originOf } from './job-expander.js';
import { NameMatcher } from './regex-matcher.js';
import { describeValue, quoteList, type SpecPath, type SpecReporter } from './spec-error.js';
import { MAX_NAME_LENGTH } from './spec-limits.js';
import type { JobSpec } from './spec-schema.js';

/** Something with a name, and the index of the spec entry it was expanded from. */
export interface Named {
  name: string;
  specIndex: number;
}

/** The names of one kind (jobs, files, user_data), for exact lookups and regexes. */
export interface Catalog {
  noun: string;
  byName: Map<string, number>;
  matcher: NameMatcher;
}

/** What resolving a job's names needs to know. */
export interface JobContext {
  specs: readonly JobSpec[];
  files: readonly { name: string; path: string }[];
  userData: readonly { name: string; data: unknown }[];
  fileCatalog: Catalog;
  userDataCatalog: Catalog;
  requirementNames: ReadonlyMap<string, number>;
  schedulerNames: ReadonlyMap<string, number>;
  reporter: SpecReporter;
}

/** Name -> index, refusing a name given twice with both places in the message. */
export function indexNames(
  items: readonly Named[],
  section: string,
  noun: string,
  reporter: SpecReporter,
): Map<string, number> {
  const byName = new Map<string, number>();
  for (const [index, item] of items.entries()) {
    // Written names are bounded by the schema; these are the ones parameters made longer.
    if (item.name.length > MAX_NAME_LENGTH) {
      throw reporter.error(
        'SPEC_BAD_PARAMETER',
        [section, item.specIndex, 'name'],
        `${noun} name ${describeValue(item.name)} is ${item.name.length} characters long, more than ${MAX_NAME_LENGTH}`,
      );
    }
    const earlier = byName.get(item.name);
    if (earlier === undefined) {
      byName.set(item.name, index);
      continue;
    }
    const first = (items[earlier] as Named).specIndex;
    const problem =
      first === item.specIndex
        ? `two parameter combinations give the same ${noun} name "${item.name}"`
        : `${noun} name "${item.name}" is defined twice: ${reporter.describePlace([section, first])} and ${reporter.describePlace([section, item.specIndex])}`;
    throw reporter.error('SPEC_DUPLICATE_NAME', [section, item.specIndex, 'name'], problem);
  }
  return byName;
}

export function catalog(items: readonly Named[], section: string, noun: string, reporter: SpecReporter): Catalog {
  const byName = indexNames(items, section, noun, reporter);
  return { noun, byName, matcher: new NameMatcher(byName, noun) };
}

export function unknownName(noun: string, name: string, known: ReadonlyMap<string, number>): string {
  const defined = known.size === 0 ? 'none are defined' : `defined: ${quoteList([...known.keys()])}`;
  return `unknown ${noun} "${name}" (${defined})`;
}

/** Where a job names something: the spec entry behind entry `at` of one of its lists, or (at -1) its command. */
export function entryPath(job: JobInstance, key: JobListKey, at: number): SpecPath {
  return at === -1 ? ['jobs', job.specIndex, 'command'] : ['jobs', job.specIndex, key, originOf(job, key, at)];
}

/** The index of the name in entry `at` of a job's list; an unknown name fails naming its template too. */
export function lookup(target: Catalog, job: JobInstance, key: JobListKey, at: number, context: JobContext): number {
  const value = job.lists[key]?.[at] as string;
  const index = target.byName.get(value);
  if (index !== undefined) return index;
  const written = context.specs[job.specIndex]?.[key]?.[originOf(job, key, at)];
  const from = written !== undefined && written !== value ? ` (from "${written}")` : '';
  throw context.reporter.error(
    'SPEC_UNKNOWN_REFERENCE',
    entryPath(job, key, at),
    `unknown ${target.noun} "${value}"${from}`,
  );
}

/** Indices of the names the regex in entry `at` of a job's list matches. */
export function matchEntry(
  target: Catalog,
  job: JobInstance,
  key: JobListKey,
  at: number,
  context: JobContext,
): readonly number[] {
  const pattern = job.lists[key]?.[at] as string;
  return target.matcher.match(pattern, (code, problem) => {
    throw context.reporter.error(code, entryPath(job, key, at), problem);
  });
}
