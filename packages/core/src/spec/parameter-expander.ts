import { type Fail, type Parsed, quoteList, type SpecPath, type SpecReporter } from './spec-error.js';

export type ParameterValue = string | number;

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

const NUMBER = /^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$/;
const RANGE = /^([-+]?(?:\d+\.?\d*|\.\d+))\s*:\s*([-+]?(?:\d+\.?\d*|\.\d+))(?:\s*:\s*([-+]?(?:\d+\.?\d*|\.\d+)))?$/;
// torc accepts "{1:100}" for "1:100" because users mix up values with placeholders; so do we.
const BRACED_RANGE = /^\{([^{},]*)\}$/;

/**
 * The values of one parameter as written in a spec: a range "1:100" or "0:100:10" (inclusive),
 * a list "[1,5,10]" or "['a','b']", a YAML list, or one plain value.
 */
export function parseParameterValues(raw: string | number | readonly (string | number)[]): Parsed<ParameterValue[]> {
  if (typeof raw === 'number') return { value: [raw] };
  if (Array.isArray(raw)) return raw.length > 0 ? { value: [...raw] } : { problem: 'the list of values is empty' };
  const text = (raw as string).trim();
  const unbraced = BRACED_RANGE.exec(text)?.[1]?.trim() ?? text;
  if (unbraced.startsWith('[') && unbraced.endsWith(']')) return parseList(unbraced);
  if (unbraced.includes(':') && /^[-+\d.]/.test(unbraced)) return parseRange(unbraced);
  if (text === '') return { problem: 'the value is empty' };
  return { value: [scalarValue(text)] };
}

function scalarValue(text: string): ParameterValue {
  return NUMBER.test(text) ? Number(text) : text;
}

function parseList(text: string): Parsed<ParameterValue[]> {
  const inner = text.slice(1, -1);
  const values: ParameterValue[] = [];
  let pos = 0;
  const bad = (why: string): Parsed<ParameterValue[]> => ({ problem: `invalid list ${JSON.stringify(text)}: ${why}` });
  if (inner.trim() === '') return bad('it has no values');
  while (pos <= inner.length) {
    while (inner[pos] === ' ' || inner[pos] === '\t') pos++;
    const quote = inner[pos];
    let item: ParameterValue;
    if (quote === "'" || quote === '"') {
      const end = inner.indexOf(quote, pos + 1);
      if (end === -1) return bad(`unclosed ${quote}`);
      item = inner.slice(pos + 1, end);
      pos = end + 1;
      while (inner[pos] === ' ' || inner[pos] === '\t') pos++;
      if (pos < inner.length && inner[pos] !== ',') return bad(`expected "," after ${quote}${item}${quote}`);
    } else {
      const comma = inner.indexOf(',', pos);
      const end = comma === -1 ? inner.length : comma;
      const token = inner.slice(pos, end).trim();
      if (token === '') return bad('it has an empty item');
      item = scalarValue(token);
      pos = end;
    }
    values.push(item);
    pos++;
  }
  return { value: values };
}

function parseRange(text: string): Parsed<ParameterValue[]> {
  const match = RANGE.exec(text);
  if (!match)
    return { problem: `invalid range ${JSON.stringify(text)}: expected "start:end" or "start:end:step" with numbers` };
  const [start, end, step] = [match[1], match[2], match[3] ?? '1'].map(Number) as [number, number, number];
  if (step === 0) return { problem: `invalid range ${JSON.stringify(text)}: the step is 0` };
  const count = Math.floor((end - start) / step + 1e-9) + 1;
  if (count < 1) {
    return {
      problem: `range ${JSON.stringify(text)} is empty: a range that counts down needs a negative step, e.g. "10:1:-1"`,
    };
  }
  if (count > MAX_INSTANCES)
    return { problem: `range ${JSON.stringify(text)} has ${count} values, more than ${MAX_INSTANCES}` };
  // Values are rounded to the decimals written, so "0:1:0.1" gives 0.3 and not 0.30000000000000004.
  const decimals = Math.max(...match.slice(1).map((part) => part?.split('.')[1]?.length ?? 0));
  const values: number[] = new Array(count);
  for (let k = 0; k < count; k++)
    values[k] = decimals ? Number((start + k * step).toFixed(decimals)) : start + k * step;
  return { value: values };
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

interface Placeholder {
  position: number;
  format: FormatSpec | null;
  placeholder: string;
  /** each value of the parameter as substituted, filled in as instances need them */
  texts: (string | undefined)[];
}

// Shared by every template without placeholders, so that plain strings cost no allocations.
const NONE: readonly never[] = [];

/** A string with placeholders, compiled once per spec field so that each instance is only concatenation. */
export class CompiledTemplate {
  constructor(
    private readonly text: string,
    /** positions in the ParameterSet of the parameters the template uses */
    readonly uses: readonly number[] = NONE,
    private readonly parts: readonly (string | Placeholder)[] = NONE,
    private readonly values: readonly ParameterValue[][] = NONE,
    private readonly fail?: Fail,
    private readonly quote?: (value: string) => string,
  ) {}

  render(combo: readonly number[]): string {
    if (this.uses.length === 0) return this.text;
    let out = '';
    for (const part of this.parts) {
      if (typeof part === 'string') out += part;
      else {
        const index = combo[part.position] as number;
        out += part.texts[index] ?? this.substitute(part, index);
      }
    }
    return out;
  }

  /** The text for one value of a placeholder, formatted once: a parameter's values repeat across instances. */
  private substitute(part: Placeholder, index: number): string {
    const value = (this.values[part.position] as ParameterValue[])[index] as ParameterValue;
    const formatted = part.format ? formatValue(value, part.format) : { value: String(value) };
    if ('problem' in formatted) {
      const problem = `cannot format ${JSON.stringify(value)} with ${part.placeholder}: ${formatted.problem}`;
      return (this.fail as Fail)('SPEC_BAD_PARAMETER', problem);
    }
    const text = this.quote ? this.quote(formatted.value) : formatted.value;
    part.texts[index] = text;
    return text;
  }
}

/**
 * `{name}` or `{name:spec}`. Doubled braces (`{{x}}`, as in Go or Jinja templates) and shell
 * variables (`${x}`) are never placeholders, so commands that contain them need no escaping.
 */
const PLACEHOLDER = /(?<![{$])\{([A-Za-z_][A-Za-z0-9_]*)(?::([^{}]*))?\}/g;

/**
 * Compiles a string with placeholders against a parameter set. An unknown placeholder fails
 * here, naming it. `quote` escapes substituted values, e.g. for regexes.
 */
export function compileTemplate(
  text: string,
  set: ParameterSet | null,
  fail: Fail,
  quote?: (value: string) => string,
): CompiledTemplate {
  if (!text.includes('{')) return new CompiledTemplate(text);
  const parts: (string | Placeholder)[] = [];
  const uses = new Set<number>();
  let last = 0;
  for (const match of text.matchAll(PLACEHOLDER)) {
    const [placeholder, name = '', rawSpec] = match;
    const position = set ? set.names.indexOf(name) : -1;
    if (position === -1) {
      const known = set ? `parameters here: ${quoteList(set.names)}` : 'no parameters are defined here';
      fail('SPEC_UNKNOWN_REFERENCE', `unknown parameter "${name}" in ${JSON.stringify(text)} (${known})`);
    }
    const format = rawSpec === undefined ? null : parseFormatSpec(rawSpec);
    if (format === undefined) {
      fail(
        'SPEC_BAD_PARAMETER',
        `invalid format "${rawSpec}" in ${placeholder}: expected e.g. {i:03d}, {x:.4f}, {x:5.2f} or {s:>8}`,
      );
    }
    parts.push(text.slice(last, match.index), { position, format, placeholder, texts: [] });
    uses.add(position);
    last = match.index + placeholder.length;
  }
  if (uses.size === 0) return new CompiledTemplate(text);
  parts.push(text.slice(last));
  return new CompiledTemplate(text, [...uses], parts, (set as ParameterSet).values, fail, quote);
}

/** The subset of Python's format mini-language that parameter values need. */
interface FormatSpec {
  fill: string;
  align: '<' | '>' | '^' | '=' | undefined;
  sign: '+' | '-' | ' ';
  width: number;
  precision: number | undefined;
  type: string;
}

const FORMAT_SPEC = /^(?:([^{}])?([<>^=]))?([-+ ])?(0)?(\d+)?(?:\.(\d+))?([bdeEfFosxX%])?$/;

function parseFormatSpec(raw: string): FormatSpec | undefined {
  const match = FORMAT_SPEC.exec(raw);
  if (!match) return undefined;
  const [, fill, align, sign, zero, width, precision, type] = match;
  return {
    // A leading 0 means "pad numbers with zeros after the sign", as in Python.
    fill: fill ?? (zero && !align ? '0' : ' '),
    align: (align ?? (zero ? '=' : undefined)) as FormatSpec['align'],
    sign: (sign ?? '-') as FormatSpec['sign'],
    width: width ? Number(width) : 0,
    precision: precision === undefined ? undefined : Number(precision),
    type: type ?? '',
  };
}

const INTEGER_TYPES = new Set(['d', 'x', 'X', 'o', 'b']);

function formatValue(value: ParameterValue, spec: FormatSpec): Parsed<string> {
  let sign = '';
  let body: string;
  if (typeof value === 'string' || spec.type === 's') {
    if (spec.type !== '' && spec.type !== 's') return { problem: `"${spec.type}" needs a number` };
    const text = String(value);
    body = spec.precision === undefined ? text : text.slice(0, spec.precision);
  } else {
    if (INTEGER_TYPES.has(spec.type) && !Number.isInteger(value)) {
      return { problem: `"${spec.type}" needs an integer` };
    }
    if (value < 0 || Object.is(value, -0)) sign = '-';
    else if (spec.sign !== '-') sign = spec.sign;
    body = formatNumber(Math.abs(value), spec);
  }
  return { value: pad(sign, body, spec, typeof value === 'number' && spec.type !== 's' ? '>' : '<') };
}

function pad(sign: string, body: string, spec: FormatSpec, defaultAlign: '<' | '>'): string {
  const padding = spec.width - sign.length - body.length;
  if (padding <= 0) return sign + body;
  const fill = (n: number) => spec.fill.repeat(n);
  switch (spec.align ?? defaultAlign) {
    case '<':
      return sign + body + fill(padding);
    case '>':
      return fill(padding) + sign + body;
    case '=':
      return sign + fill(padding) + body;
    default: {
      const left = Math.floor(padding / 2);
      return fill(left) + sign + body + fill(padding - left);
    }
  }
}

function formatNumber(magnitude: number, spec: FormatSpec): string {
  const precision = spec.precision ?? 6;
  switch (spec.type) {
    case 'd':
      return String(magnitude);
    case 'f':
    case 'F':
      return magnitude.toFixed(precision);
    case 'e':
    case 'E': {
      // Python writes at least two exponent digits: 1.5e+00, not 1.5e+0.
      const text = magnitude.toExponential(precision).replace(/e([+-])(\d)$/, 'e$10$2');
      return spec.type === 'E' ? text.toUpperCase() : text;
    }
    case '%':
      return `${(magnitude * 100).toFixed(precision)}%`;
    case 'x':
      return magnitude.toString(16);
    case 'X':
      return magnitude.toString(16).toUpperCase();
    case 'o':
      return magnitude.toString(8);
    case 'b':
      return magnitude.toString(2);
    default:
      return spec.precision === undefined
        ? String(magnitude)
        : String(Number(magnitude.toPrecision(Math.max(1, spec.precision))));
  }
}
