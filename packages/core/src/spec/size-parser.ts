import { SluiceError } from '../errors.js';
import type { Parsed } from './spec-error.js';

const UNIT_EXPONENT: Record<string, number> = { '': 0, k: 1, m: 2, g: 3, t: 4, p: 5 };
const SIZE = /^(\d+(?:\.\d+)?|\.\d+)\s*([kmgtp]?)(?:i?b)?$/i;

/**
 * Bytes in a memory size such as "512m", "1.5g", "2t" or 1048576. Units are binary
 * (1k = 1024 bytes), as Slurm reads them.
 */
export function memoryBytes(size: string | number): Parsed<number> {
  const bytes = typeof size === 'number' ? size : bytesOfText(size);
  if (Number.isSafeInteger(bytes) && bytes >= 0) return { value: bytes };
  // Byte counts are stored as int8 and handled as JS numbers: 2^53 - 1 bytes (8 PiB) bounds both.
  if (bytes > Number.MAX_SAFE_INTEGER) {
    return { problem: `memory size ${JSON.stringify(size)} is larger than 8 PiB (${Number.MAX_SAFE_INTEGER} bytes)` };
  }
  return {
    problem: `invalid memory size ${JSON.stringify(size)}: expected a number of bytes or a size with unit k, m, g, t or p, e.g. "512m", "1.5g"`,
  };
}

function bytesOfText(size: string): number {
  const match = SIZE.exec(size.trim());
  if (!match) return Number.NaN;
  return Math.round(Number(match[1]) * 1024 ** (UNIT_EXPONENT[(match[2] ?? '').toLowerCase()] ?? 0));
}

/** Bytes in a memory size such as "512m", "4g", "100k" or a plain number of bytes. */
export function parseMemory(size: string | number): number {
  const parsed = memoryBytes(size);
  if ('problem' in parsed) throw new SluiceError('SPEC_INVALID', parsed.problem);
  return parsed.value;
}
