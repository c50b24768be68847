import type { ParameterValue } from './parameter-value-parser.js';
import { type Parsed, quoteList, type SpecPath, type SpecReporter } from './spec-error.js';

/**
 * Most instances one job, file or user_data entry may expand to, and most values one parameter
 * may have: far above any real workflow, low enough that a typo such as "1:1000000000" fails
 * with a message instead of exhausting memory.
 */
export const MAX_INSTANCES = 10_000_000;

export const PARAMETER_MODES = ['product', 'zip'] as const;
export type ParameterMode = (typeof PARAMETER_MODES)[number];

/** The parameters one job, file or user_data entry expands over, in the order they vary. */
export interface ParameterSet {
  names: string[];
  values: ParameterValue[][];
  mode: ParameterMode;
}

export interface ParameterizedSpec {
  parameters?: Record<string, ParameterValue[]> | null | undefined;
  parameter_mode?: ParameterMode | null | undefined;
  use_parameters?: string[] | null | undefined;
}

/**
 * The parameters of one job, file or user_data entry: its own, plus the workflow-level ones it
 * names in use_parameters (in that order), or null when it has none.
 */
export function parameterSetOf(
  spec: ParameterizedSpec,
  workflowParameters: Readonly<Record<string, ParameterValue[]>>,
  path: SpecPath,
  reporter: SpecReporter,
): ParameterSet | null {
  if (!spec.parameters && !spec.use_parameters) return null;
  const set: ParameterSet = { names: [], values: [], mode: spec.parameter_mode ?? 'product' };
  const own = spec.parameters ?? {};
  for (const [k, name] of (spec.use_parameters ?? []).entries()) {
    const values = Object.hasOwn(workflowParameters, name) ? workflowParameters[name] : undefined;
    if (!values) {
      const defined = Object.keys(workflowParameters);
      throw reporter.error(
        'SPEC_UNKNOWN_REFERENCE',
        [...path, 'use_parameters', k],
        `unknown workflow parameter "${name}" (${defined.length ? `workflow parameters: ${quoteList(defined)}` : 'the workflow defines no parameters'})`,
      );
    }
    if (Object.hasOwn(own, name)) {
      throw reporter.error(
        'SPEC_BAD_PARAMETER',
        [...path, 'parameters', name],
        `parameter "${name}" is also pulled in by use_parameters; define it in one place`,
        'key',
      );
    }
    if (set.names.includes(name)) continue;
    set.names.push(name);
    set.values.push(values);
  }
  for (const [name, values] of Object.entries(own)) {
    set.names.push(name);
    set.values.push(values);
  }
  if (set.names.length === 0) return null;
  const where = [...path, spec.parameters ? 'parameters' : 'use_parameters'];
  const count = combinationCount(set);
  if ('problem' in count) throw reporter.error('SPEC_BAD_PARAMETER', where, count.problem);
  if (count.value > MAX_INSTANCES) {
    const problem = `the parameters give ${count.value} combinations, more than ${MAX_INSTANCES}`;
    throw reporter.error('SPEC_BAD_PARAMETER', where, problem);
  }
  return set;
}

function combinationCount(set: ParameterSet): Parsed<number> {
  const lengths = set.values.map((values) => values.length);
  if (set.mode === 'product') return { value: lengths.reduce((total, n) => total * n, 1) };
  const first = lengths[0] ?? 0;
  const mismatch = lengths.findIndex((n) => n !== first);
  if (mismatch === -1) return { value: first };
  return {
    problem: `parameter_mode zip needs parameters with equal numbers of values: "${set.names[0]}" has ${first}, "${set.names[mismatch]}" has ${lengths[mismatch]}`,
  };
}

/** How many instances a set expands to (1 for no set). */
export function combinationTotal(set: ParameterSet | null): number {
  if (!set) return 1;
  if (set.mode === 'zip') return set.values[0]?.length ?? 0;
  return set.values.reduce((total, values) => total * values.length, 1);
}

/**
 * Refuses an entry whose instances would take its section past MAX_INSTANCES in all: each entry
 * is bounded on its own, and so must their sum be, before any instance is built.
 */
export function refuseTooManyInstances(
  already: number,
  set: ParameterSet | null,
  path: SpecPath,
  section: string,
  reporter: SpecReporter,
): void {
  const total = already + combinationTotal(set);
  if (total <= MAX_INSTANCES) return;
  throw reporter.error(
    'SPEC_BAD_PARAMETER',
    path,
    `the spec expands to ${total} ${section} or more, more than ${MAX_INSTANCES}`,
  );
}

/**
 * Calls `visit` with every combination of a set, as indices into each parameter's values: the
 * cartesian product with the first parameter varying slowest, or the values side by side for
 * zip; once with no indices for no set. The array passed is reused: copy it to keep it.
 */
export function forEachCombination(set: ParameterSet | null, visit: (combo: readonly number[]) => void): void {
  const lengths = set ? set.values.map((values) => values.length) : [];
  const combo = lengths.map(() => 0);
  if (set?.mode === 'zip') {
    for (let i = 0; i < (lengths[0] ?? 0); i++) {
      combo.fill(i);
      visit(combo);
    }
    return;
  }
  for (;;) {
    visit(combo);
    let p = combo.length - 1;
    while (p >= 0 && combo[p] === (lengths[p] as number) - 1) combo[p--] = 0;
    if (p < 0) return;
    combo[p] = (combo[p] as number) + 1;
  }
}
