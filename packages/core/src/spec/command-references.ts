import type { JobInstance, JobListKey } from './job-expander.js';
import { type Catalog, type JobContext, lookup, matchEntry, unknownName } from './name-catalog.js';
import type { Fail } from './spec-error.js';
import { MAX_SCRIPT_LENGTH } from './spec-limits.js';

/** A file or user_data entry a job names, and where: entry `at` of one of its lists, or (at -1) its command. */
export interface Reference {
  index: number;
  key: JobListKey;
  at: number;
}

/** A job's command with ${files...} references replaced, and the files and user_data it reads and writes. */
export interface JobReferences {
  command: string;
  inputFiles: readonly Reference[];
  outputFiles: readonly Reference[];
  inputUserData: readonly Reference[];
  outputUserData: readonly Reference[];
}

// Most jobs name no files and few dependencies: sharing the empty lists spares 100k-job specs
// hundreds of thousands of allocations. Not frozen (V8 iterates frozen arrays slowly): the
// readonly types keep them empty.
const NO_REFERENCES: readonly Reference[] = [];
export const NO_ENTRIES: readonly string[] = [];

const COMMAND_REFERENCE = /\$\{(files|user_data)\.([^}]*)\}/g;

export function resolveJobReferences(job: JobInstance, context: JobContext): JobReferences {
  const { reporter } = context;
  if (job.resourceRequirements !== null && !context.requirementNames.has(job.resourceRequirements)) {
    const problem = unknownName('resource_requirements', job.resourceRequirements, context.requirementNames);
    throw reporter.error('SPEC_UNKNOWN_REFERENCE', ['jobs', job.specIndex, 'resource_requirements'], problem);
  }
  if (job.scheduler !== null && !context.schedulerNames.has(job.scheduler)) {
    const problem = unknownName('slurm scheduler', job.scheduler, context.schedulerNames);
    throw reporter.error('SPEC_UNKNOWN_REFERENCE', ['jobs', job.specIndex, 'scheduler'], problem);
  }
  const resolve = (nameKey: JobListKey, regexKey: JobListKey, target: Catalog): readonly Reference[] => {
    const names = job.lists[nameKey] ?? NO_ENTRIES;
    const regexes = job.lists[regexKey] ?? NO_ENTRIES;
    if (names.length === 0 && regexes.length === 0) return NO_REFERENCES;
    const refs: Reference[] = [];
    for (let at = 0; at < names.length; at++) {
      refs.push({ index: lookup(target, job, nameKey, at, context), key: nameKey, at });
    }
    for (let at = 0; at < regexes.length; at++) {
      for (const index of matchEntry(target, job, regexKey, at, context)) refs.push({ index, key: regexKey, at });
    }
    return refs;
  };
  const refs: JobReferences = {
    command: job.command,
    inputFiles: resolve('input_files', 'input_file_regexes', context.fileCatalog),
    outputFiles: resolve('output_files', 'output_file_regexes', context.fileCatalog),
    inputUserData: resolve('input_user_data', 'input_user_data_regexes', context.userDataCatalog),
    outputUserData: resolve('output_user_data', 'output_user_data_regexes', context.userDataCatalog),
  };
  if (job.command.includes('${files.') || job.command.includes('${user_data.')) {
    refs.command = expandCommandReferences(job, refs, context);
  }
  // Parameters and inlined user data can make a script longer than the spec wrote it.
  refuseLongScript(refs.command, job, 'command', context);
  if (job.invocationScript !== null) refuseLongScript(job.invocationScript, job, 'invocation_script', context);
  return refs;
}

function refuseLongScript(text: string, job: JobInstance, key: string, context: JobContext): void {
  if (text.length <= MAX_SCRIPT_LENGTH) return;
  throw context.reporter.error(
    'SPEC_INVALID',
    ['jobs', job.specIndex, key],
    `job "${job.name}": ${key} is ${text.length} characters once expanded, more than ${MAX_SCRIPT_LENGTH}`,
  );
}

/**
 * Replaces `${files.input.NAME}` and `${files.output.NAME}` with the file's path, and
 * `${user_data.input.NAME}` / `${user_data.output.NAME}` with the JSON text of the user data's
 * `data` (`null` when it has none), as torc inlines it; each is recorded as read or written by
 * the job, as if it were in its input or output list.
 */
function expandCommandReferences(job: JobInstance, refs: JobReferences, context: JobContext): string {
  const fail: Fail = context.reporter.failAt(['jobs', job.specIndex, 'command']);
  return job.command.replace(COMMAND_REFERENCE, (whole: string, kind: 'files' | 'user_data', rest: string) => {
    const [, direction, name] = /^(input|output)\.(.+)$/.exec(rest) ?? [];
    if (!direction || !name) {
      return fail(
        'SPEC_INVALID',
        `${whole} is not a reference: write \${${kind}.input.NAME} or \${${kind}.output.NAME}`,
      );
    }
    const target = kind === 'files' ? context.fileCatalog : context.userDataCatalog;
    const index = target.byName.get(name);
    if (index === undefined) {
      return fail('SPEC_UNKNOWN_REFERENCE', `${unknownName(target.noun, name, target.byName)} in ${whole}`);
    }
    const list = `${direction}${kind === 'files' ? 'Files' : 'UserData'}` as Exclude<keyof JobReferences, 'command'>;
    refs[list] = [...refs[list], { index, key: `${direction}_${kind}` as JobListKey, at: -1 }];
    if (kind === 'files') return (context.files[index] as { path: string }).path;
    return JSON.stringify((context.userData[index] as { data: unknown }).data ?? null);
  });
}
