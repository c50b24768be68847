import type { ParameterSet } from './parameter-combinations.js';
import type { ParameterValue } from './parameter-value-parser.js';
import { type FormatSpec, formatValue, parseFormatSpec } from './python-format.js';
import { type Fail, quoteList } from './spec-error.js';

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
