import type { ParameterValue } from './parameter-value-parser.js';
import type { Parsed } from './spec-error.js';

/** The subset of Python's format mini-language that parameter values need. */
export interface FormatSpec {
  fill: string;
  align: '<' | '>' | '^' | '=' | undefined;
  sign: '+' | '-' | ' ';
  width: number;
  precision: number | undefined;
  type: string;
}

const FORMAT_SPEC = /^(?:([^{}])?([<>^=]))?([-+ ])?(0)?(\d+)?(?:\.(\d+))?([bdeEfFosxX%])?$/;

export function parseFormatSpec(raw: string): FormatSpec | undefined {
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

export function formatValue(value: ParameterValue, spec: FormatSpec): Parsed<string> {
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
