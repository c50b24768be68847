import { formatDuration, parseDuration, parseMemory } from '@sluice/core/spec';
import { describe, expect, it } from 'vitest';

describe('parseMemory', () => {
  it('reads binary units, fractions and plain byte counts', () => {
    expect(parseMemory('100k')).toBe(102_400);
    expect(parseMemory('512m')).toBe(536_870_912);
    expect(parseMemory('4g')).toBe(4_294_967_296);
    expect(parseMemory('1.5g')).toBe(1_610_612_736);
    expect(parseMemory('2t')).toBe(2_199_023_255_552);
    expect(parseMemory('4G')).toBe(4_294_967_296);
    expect(parseMemory('4GB')).toBe(4_294_967_296);
    expect(parseMemory('4GiB')).toBe(4_294_967_296);
    expect(parseMemory('1048576')).toBe(1_048_576);
    expect(parseMemory(1_048_576)).toBe(1_048_576);
    expect(parseMemory('1m')).toBe(1_048_576);
  });

  it('refuses what is not a size', () => {
    for (const bad of ['', 'abc', '4x', '-1g', 'g', '1 2g']) {
      expect(() => parseMemory(bad), bad).toThrow(/invalid memory size/);
    }
    expect(() => parseMemory(-5)).toThrow(/invalid memory size -5/);
    expect(() => parseMemory(1.5)).toThrow(/invalid memory size 1.5/);
  });
});

describe('parseDuration', () => {
  it('reads ISO-8601 durations in seconds', () => {
    expect(parseDuration('PT1H30M')).toBe(5400);
    expect(parseDuration('P1DT2H')).toBe(93_600);
    expect(parseDuration('PT30M')).toBe(1800);
    expect(parseDuration('PT45S')).toBe(45);
    expect(parseDuration('PT1.5S')).toBe(1.5);
    expect(parseDuration('PT0,5H')).toBe(1800);
    expect(parseDuration('P2D')).toBe(172_800);
    expect(parseDuration('P1W')).toBe(604_800);
    expect(parseDuration('pt2h')).toBe(7200);
    expect(parseDuration('PT0S')).toBe(0);
  });

  it('refuses text that is not a duration, and units of no fixed length', () => {
    for (const bad of ['', 'P', 'PT', 'P1DT', '1h', 'PT1H30', 'T1H', 'PT-1H', 'P1H']) {
      expect(() => parseDuration(bad), bad).toThrow(/invalid duration .*: expected an ISO-8601 duration/);
    }
    expect(() => parseDuration('P1M')).toThrow(/years and months have no fixed length/);
    expect(() => parseDuration('P1Y')).toThrow(/years and months have no fixed length/);
  });
});

describe('formatDuration', () => {
  it('writes the shortest ISO-8601 duration', () => {
    expect(formatDuration(5400)).toBe('PT1H30M');
    expect(formatDuration(93_600)).toBe('P1DT2H');
    expect(formatDuration(0)).toBe('PT0S');
    expect(formatDuration(45)).toBe('PT45S');
    expect(formatDuration(172_800)).toBe('P2D');
    expect(formatDuration(90_061.5)).toBe('P1DT1H1M1.5S');
    expect(formatDuration(0.1 + 0.2)).toBe('PT0.3S');
  });

  it('round-trips with parseDuration', () => {
    for (const seconds of [1, 59, 60, 3599, 3600, 86_399, 86_400, 1_000_000]) {
      expect(parseDuration(formatDuration(seconds))).toBe(seconds);
    }
  });

  it('refuses negative and non-finite seconds', () => {
    expect(() => formatDuration(-1)).toThrow();
    expect(() => formatDuration(Number.NaN)).toThrow();
  });
});
