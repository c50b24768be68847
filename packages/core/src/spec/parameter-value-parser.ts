import { MAX_INSTANCES } from './parameter-combinations.js';
import type { Parsed } from './spec-error.js';

export type ParameterValue = string | number;

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
