import { RE2JS } from 're2js';
import type { Fail } from './spec-error.js';
import { MAX_REGEX_LENGTH } from './spec-limits.js';

const NO_MATCHES: readonly number[] = [];
const SCANS_BEFORE_SORTING = 8;
const LITERAL = /^[^\\.+*?()|[\]{}^$]*$/;

/** Escapes a value substituted into a regex, so that a parameter value matches only itself. */
export const quoteRegex = (value: string): string => RE2JS.quote(value);

/**
 * Matches user regexes against one kind of names (jobs, files or user_data). Regexes are RE2
 * (linear time, so no pattern can hang the loader) and anchored: a regex must match a whole
 * name. Parameterized jobs repeat their regexes in every instance, so: a pattern without
 * metacharacters is a name lookup; any other is run once and its matches cached; and once a
 * spec has many patterns, one with a literal prefix is tried only on the names with that prefix,
 * found by binary search, so that per-instance regexes such as `prep_{i}_.*` stay far from
 * patterns times names.
 */
export class NameMatcher {
  /** the matches of each pattern compiled so far */
  private readonly cache = new Map<string, readonly number[]>();
  private names: readonly string[] | undefined;
  private sorted: { name: string; index: number }[] | undefined;

  /** `byName` maps each name to its index; `kind` names the names in messages: "job", "file". */
  constructor(
    private readonly byName: ReadonlyMap<string, number>,
    private readonly kind: string,
  ) {}

  nameAt(index: number): string | undefined {
    return this.allNames()[index];
  }

  /** Indices of the names the pattern matches, ascending; fails if it is invalid or matches none. */
  match(pattern: string, fail: Fail): readonly number[] {
    let matches = LITERAL.test(pattern) ? this.exact(pattern) : this.cache.get(pattern);
    if (!matches) {
      matches = this.scan(compileRegex(pattern, fail));
      this.cache.set(pattern, matches);
    }
    if (matches.length === 0) {
      fail(
        'SPEC_REGEX_NO_MATCH',
        `regex ${JSON.stringify(pattern)} matches no ${this.kind} name (it must match a whole name)`,
      );
    }
    return matches;
  }

  /** A pattern without metacharacters matches only itself: a lookup, not a compile and a scan. */
  private exact(name: string): readonly number[] {
    const index = this.byName.get(name);
    return index === undefined ? NO_MATCHES : [index];
  }

  private scan(regex: RE2JS): number[] {
    const prefix = literalPrefix(regex);
    const matches: number[] = [];
    // Sorting the names costs a few scans; it pays only when many patterns follow.
    if (this.cache.size < SCANS_BEFORE_SORTING) {
      const names = this.allNames();
      for (let i = 0; i < names.length; i++) {
        const name = names[i] as string;
        if (name.startsWith(prefix) && regex.testExact(name)) matches.push(i);
      }
      return matches;
    }
    const sorted = this.sortedNames();
    let low = 0;
    let high = sorted.length;
    while (low < high) {
      const mid = (low + high) >> 1;
      if ((sorted[mid] as { name: string }).name < prefix) low = mid + 1;
      else high = mid;
    }
    for (let i = low; i < sorted.length; i++) {
      const entry = sorted[i] as { name: string; index: number };
      if (!entry.name.startsWith(prefix)) break;
      if (regex.testExact(entry.name)) matches.push(entry.index);
    }
    return matches.sort((a, b) => a - b);
  }

  private allNames(): readonly string[] {
    this.names ??= [...this.byName.keys()];
    return this.names;
  }

  private sortedNames() {
    this.sorted ??= this.allNames()
      .map((name, index) => ({ name, index }))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    return this.sorted;
  }
}

function compileRegex(pattern: string, fail: Fail): RE2JS {
  // The schema bounds written regexes; parameter values substituted into one can lengthen it.
  if (pattern.length > MAX_REGEX_LENGTH) {
    return fail('SPEC_BAD_REGEX', `regex is ${pattern.length} characters long, more than ${MAX_REGEX_LENGTH}`);
  }
  try {
    return RE2JS.compile(pattern);
  } catch (e) {
    const reason =
      e instanceof Error && 'getDescription' in e ? (e as { getDescription(): string }).getDescription() : String(e);
    return fail('SPEC_BAD_REGEX', `invalid regex ${JSON.stringify(pattern)}: ${reason}`);
  }
}

/** The literal text every match starts with, as RE2 computes it ("" when there is none). */
function literalPrefix(regex: RE2JS): string {
  const prefix: unknown = regex.re2().prefix;
  return typeof prefix === 'string' ? prefix : '';
}
