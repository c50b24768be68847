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
