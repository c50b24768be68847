/** Schemas of what reacts to jobs: workflow actions and failure handlers. */
import * as z from 'zod';
import { ACTION_TYPES, TRIGGER_TYPES } from '../model.js';
import { boundedInt, Name, NameList, RegexList, ResourceCount, Script } from './schema-primitives.js';
import { MAX_ALLOCATIONS, MAX_RETRIES } from './spec-limits.js';

export const ActionSpec = z.strictObject({
  trigger_type: z.enum(TRIGGER_TYPES),
  action_type: z.enum(ACTION_TYPES),
  jobs: NameList.nullish(),
  job_name_regexes: RegexList.nullish(),
  commands: z.array(Script.min(1)).nullish(),
  scheduler: Name.nullish(),
  scheduler_type: z.string().nullish(),
  num_allocations: boundedInt(1, MAX_ALLOCATIONS).nullish(),
  start_one_worker_per_node: z.boolean().nullish(),
  max_parallel_jobs: ResourceCount(1).nullish(),
  persistent: z.boolean().nullish(),
});
export type ActionSpec = z.infer<typeof ActionSpec>;

export const ExitCode = boundedInt(0, 255);

/** One rule; whether it names exit codes or matches them all is checked by the resolver, which knows where it is. */
export const FailureRuleSpec = z.strictObject({
  exit_codes: z.array(ExitCode).nullish(),
  match_all_exit_codes: z.boolean().nullish(),
  recovery_script: Script.min(1).nullish(),
  max_retries: boundedInt(1, MAX_RETRIES).nullish(),
});
export type FailureRuleSpec = z.infer<typeof FailureRuleSpec>;

export const FailureHandlerSpec = z.strictObject({
  name: Name,
  rules: z.array(FailureRuleSpec).min(1),
});
export type FailureHandlerSpec = z.infer<typeof FailureHandlerSpec>;
