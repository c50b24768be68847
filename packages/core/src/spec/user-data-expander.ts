import type { ParameterSet } from './parameter-combinations.js';
import { formatValue, parseFormatSpec } from './python-format.js';
import type { Fail } from './spec-error.js';

const PLACEHOLDER = /(?<![{$])\{([A-Za-z_][A-Za-z0-9_]*)(?::([^{}]*))?\}/g;

/**
 * The `data` of one parameterized user_data instance: as torc does, the parameters are
 * substituted into every string inside it (keys and other values are left alone). Unlike in
 * names and commands, a brace that names no parameter stays as written: data is often JSON or
 * templates of other tools, and torc leaves such text alone too.
 */
export function renderData(data: unknown, set: ParameterSet | null, combo: readonly number[], fail: Fail): unknown {
  if (!set) return data;
  const render = (value: unknown): unknown => {
    if (typeof value === 'string') return renderString(value, set, combo, fail);
    if (Array.isArray(value)) return value.map(render);
    if (value !== null && typeof value === 'object') {
      return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, render(item)]));
    }
    return value;
  };
  return render(data);
}

function renderString(text: string, set: ParameterSet, combo: readonly number[], fail: Fail): string {
  if (!text.includes('{')) return text;
  return text.replace(PLACEHOLDER, (placeholder: string, name: string, rawSpec: string | undefined) => {
    const position = set.names.indexOf(name);
    if (position === -1) return placeholder;
    const value = set.values[position]?.[combo[position] as number];
    if (value === undefined) return placeholder;
    if (rawSpec === undefined) return String(value);
    const format = parseFormatSpec(rawSpec);
    if (!format) return fail('SPEC_BAD_PARAMETER', `invalid format "${rawSpec}" in ${placeholder}`);
    const formatted = formatValue(value, format);
    if ('problem' in formatted) {
      return fail(
        'SPEC_BAD_PARAMETER',
        `cannot format ${JSON.stringify(value)} with ${placeholder}: ${formatted.problem}`,
      );
    }
    return formatted.value;
  });
}
