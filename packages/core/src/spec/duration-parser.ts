import { SluiceError } from '../errors.js';
import type { Parsed } from './spec-error.js';

const NUMBER = '(\\d+(?:[.,]\\d+)?)';
// Years and months are matched only to refuse them by name: they have no fixed length in seconds.
const DURATION = new RegExp(
  `^P(?:${NUMBER}Y)?(?:${NUMBER}M)?(?:${NUMBER}W)?(?:${NUMBER}D)?(?:T(?:${NUMBER}H)?(?:${NUMBER}M)?(?:${NUMBER}S)?)?$`,
  'i',
);
const SECONDS_PER = { week: 604_800, day: 86_400, hour: 3_600, minute: 60 } as const;

/** Seconds in an ISO-8601 duration such as "PT30M" or "P1DT2H". */
export function durationSeconds(text: string): Parsed<number> {
  const trimmed = text.trim();
  const match = DURATION.exec(trimmed);
  // "P", "PT" and "P1DT" match the pattern but leave a designator without a number.
  if (!match || /^P$|T$/i.test(trimmed)) {
    return {
      problem: `invalid duration ${JSON.stringify(text)}: expected an ISO-8601 duration such as "PT30M", "PT1H30M" or "P1DT2H"`,
    };
  }
  const [years, months, weeks, days, hours, minutes, seconds] = match
    .slice(1)
    .map((part) => (part === undefined ? 0 : Number(part.replace(',', '.'))));
  if (years || months) {
    return {
      problem: `invalid duration ${JSON.stringify(text)}: years and months have no fixed length; use weeks, days, hours, minutes and seconds`,
    };
  }
  return {
    value:
      (weeks ?? 0) * SECONDS_PER.week +
      (days ?? 0) * SECONDS_PER.day +
      (hours ?? 0) * SECONDS_PER.hour +
      (minutes ?? 0) * SECONDS_PER.minute +
      (seconds ?? 0),
  };
}

/**
 * Whole seconds in a spec runtime, computed exactly from the decimals written (binary floats
 * would turn "PT0.1H" into 360.00000000000006): runtimes are stored as whole seconds, so a
 * fraction of a second is refused, and so is anything beyond `maxSeconds`.
 */
export function wholeDurationSeconds(text: string, maxSeconds: number): Parsed<number> {
  const parsed = durationSeconds(text);
  if ('problem' in parsed) return parsed;
  const match = DURATION.exec(text.trim()) as RegExpExecArray;
  const units = [0, 0, SECONDS_PER.week, SECONDS_PER.day, SECONDS_PER.hour, SECONDS_PER.minute, 1];
  // Every part scaled to nanoseconds-of-a-unit precision: 9 decimals is more than any spec writes.
  const SCALE = 1_000_000_000n;
  let total = 0n;
  for (const [i, part] of match.slice(1).entries()) {
    if (part === undefined) continue;
    const [whole = '0', fraction = ''] = part.replace(',', '.').split('.');
    if (fraction.length > 9) {
      return { problem: `invalid duration ${JSON.stringify(text)}: at most 9 decimals are supported` };
    }
    const scaled = BigInt(whole) * SCALE + BigInt(fraction.padEnd(9, '0'));
    total += scaled * BigInt(units[i] as number);
  }
  if (total % SCALE !== 0n) {
    return {
      problem: `runtime ${JSON.stringify(text)} is not a whole number of seconds (fractional seconds are not supported)`,
    };
  }
  const seconds = total / SCALE;
  if (seconds > BigInt(maxSeconds)) {
    return { problem: `runtime ${JSON.stringify(text)} is longer than ${maxSeconds} seconds (about 100 years)` };
  }
  return { value: Number(seconds) };
}

/** Seconds in an ISO-8601 duration such as "PT1H30M" (5400) or "P1DT2H" (93600). */
export function parseDuration(text: string): number {
  const parsed = durationSeconds(text);
  if ('problem' in parsed) throw new SluiceError('SPEC_INVALID', parsed.problem);
  return parsed.value;
}

/** The ISO-8601 duration for a number of seconds: 5400 -> "PT1H30M", 93600 -> "P1DT2H", 0 -> "PT0S". */
export function formatDuration(totalSeconds: number): string {
  if (!Number.isFinite(totalSeconds) || totalSeconds < 0) {
    throw new SluiceError('SLUICE_INTERNAL', `cannot format ${totalSeconds} seconds as a duration`);
  }
  // Whole milliseconds, so that float noise (0.1 + 0.2) never reaches the text.
  const millis = Math.round(totalSeconds * 1000);
  const days = Math.floor(millis / (SECONDS_PER.day * 1000));
  const hours = Math.floor(millis / (SECONDS_PER.hour * 1000)) % 24;
  const minutes = Math.floor(millis / (SECONDS_PER.minute * 1000)) % 60;
  const seconds = (millis % 60_000) / 1000;
  const time = `${hours ? `${hours}H` : ''}${minutes ? `${minutes}M` : ''}${seconds ? `${seconds}S` : ''}`;
  if (!days) return `PT${time || '0S'}`;
  return time ? `P${days}DT${time}` : `P${days}D`;
}
