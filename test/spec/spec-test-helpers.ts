import { isSluiceError, type SluiceError } from '@sluice/core';
import { loadSpecText, type ResolvedWorkflow, type SpecFormat } from '@sluice/core/spec';
import { expect } from 'vitest';

/** Loads spec text the way `sluice` would load spec.yaml (or spec.json, spec.json5, spec.kdl). */
export function load(text: string, format: SpecFormat = 'yaml'): ResolvedWorkflow {
  return loadSpecText(text, { format, source: `spec.${format}` });
}

/** The SluiceError a spec is refused with; fails the test when the spec loads. */
export function refusal(text: string, format: SpecFormat = 'yaml'): SluiceError {
  try {
    load(text, format);
  } catch (e) {
    if (isSluiceError(e)) return e;
    throw e;
  }
  throw new Error('expected the spec to be refused, but it loaded');
}

/** Asserts the whole one-line message and the error code. */
export function expectRefusal(text: string, code: string, message: string, format: SpecFormat = 'yaml'): SluiceError {
  const error = refusal(text, format);
  expect(error.message).toBe(message);
  expect(error.code).toBe(code);
  expect(error.message).not.toContain('\n');
  return error;
}

export const jobNames = (workflow: ResolvedWorkflow): string[] => workflow.jobs.map((job) => job.name);

/** The names of the jobs a job depends on, for readable assertions. */
export function dependencyNames(workflow: ResolvedWorkflow, jobName: string): string[] {
  const job = workflow.jobs.find((j) => j.name === jobName);
  if (!job) throw new Error(`no job ${jobName}`);
  return job.dependsOn.map((index) => workflow.jobs[index]?.name ?? `#${index}`);
}
