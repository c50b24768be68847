import { resolveActions } from './action-resolver.js';
import { findCycle, sortedUnique } from './dependency-graph.js';
import { expandJobs, type JobInstance, type JobListKey, originOf } from './job-expander.js';
import {
  compileTemplate,
  forEachCombination,
  type ParameterizedSpec,
  type ParameterSet,
  type ParameterValue,
  parameterSetOf,
} from './parameter-expander.js';
import { NameMatcher } from './regex-matcher.js';
import {
  DEFAULT_RESOURCE_REQUIREMENTS_NAME,
  type ResolvedJob,
  type ResolvedResourceRequirements,
  type ResolvedSlurmScheduler,
  type ResolvedWorkflow,
} from './resolved-workflow.js';
import { type Fail, quoteList, type SpecPath, type SpecReporter } from './spec-error.js';
import type { JobSpec, ResourceRequirementsSpec, SlurmSchedulerSpec, WorkflowSpec } from './spec-schema.js';

const DEFAULT_RESOURCE_REQUIREMENTS: ResolvedResourceRequirements = {
  name: DEFAULT_RESOURCE_REQUIREMENTS_NAME,
  numCpus: 1,
  numGpus: 0,
  numNodes: 1,
  memory: '1m',
  memoryBytes: 1024 * 1024,
  runtime: 'PT1H',
  runtimeSeconds: 3600,
};

/** Something with a name, and the index of the spec entry it was expanded from. */
interface Named {
  name: string;
  specIndex: number;
}

/** The names of one kind (jobs, files, user_data), for exact lookups and regexes. */
interface Catalog {
  noun: string;
  byName: Map<string, number>;
  matcher: NameMatcher;
}

/** A file or user_data entry a job names, and where: entry `at` of one of its lists, or (at -1) its command. */
interface Reference {
  index: number;
  key: JobListKey;
  at: number;
}

/** A job's command with ${files...} references replaced, and the files and user_data it reads and writes. */
interface JobReferences {
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
const NO_ENTRIES: readonly string[] = [];

/** What resolving a job's names needs to know. */
interface JobContext {
  specs: readonly JobSpec[];
  files: readonly { name: string; path: string }[];
  fileCatalog: Catalog;
  userDataCatalog: Catalog;
  requirementNames: ReadonlyMap<string, number>;
  schedulerNames: ReadonlyMap<string, number>;
  reporter: SpecReporter;
}

/**
 * Turns a validated spec into a ResolvedWorkflow: parameters expanded, names and regexes
 * resolved to indices, implicit dependencies added, cycles refused. Every lookup is by Map or
 * by one pass of a regex over the names, so 100k-job specs stay linear.
 */
export function resolveSpec(spec: WorkflowSpec, reporter: SpecReporter): ResolvedWorkflow {
  const workflowParameters = spec.parameters ?? {};
  const resourceRequirements = (spec.resource_requirements ?? []).map(toResourceRequirements);
  const slurmSchedulers = (spec.slurm_schedulers ?? []).map(toSlurmScheduler);
  const requirementNames = indexNames(
    withSpecIndex(resourceRequirements),
    'resource_requirements',
    'resource_requirements',
    reporter,
  );
  const schedulerNames = indexNames(withSpecIndex(slurmSchedulers), 'slurm_schedulers', 'slurm scheduler', reporter);

  const files = expandEach(spec.files ?? [], 'files', workflowParameters, reporter, (file, set, at) => {
    const name = compileTemplate(file.name, set, at('name'));
    const path = compileTemplate(file.path, set, at('path'));
    return (combo) => ({ name: name.render(combo), path: path.render(combo) });
  });
  const userData = expandEach(spec.user_data ?? [], 'user_data', workflowParameters, reporter, (entry, set, at) => {
    const name = compileTemplate(entry.name, set, at('name'));
    return (combo) => ({ name: name.render(combo), data: entry.data ?? null });
  });
  const jobs = expandJobs(spec.jobs, workflowParameters, reporter);
  const jobCatalog = catalog(jobs, 'jobs', 'job', reporter);
  const context: JobContext = {
    specs: spec.jobs,
    files,
    fileCatalog: catalog(files, 'files', 'file', reporter),
    userDataCatalog: catalog(userData, 'user_data', 'user_data', reporter),
    requirementNames,
    schedulerNames,
    reporter,
  };

  const references = jobs.map((job) => resolveJobReferences(job, context));
  const dependsOn = resolveDependencies(jobs, references, jobCatalog, context);
  const cycle = findCycle(dependsOn);
  if (cycle) {
    const names = cycle.map((j) => (jobs[j] as JobInstance).name);
    const first = jobs[cycle[0] as number] as JobInstance;
    throw reporter.error('SPEC_CYCLE', ['jobs', first.specIndex], `dependency cycle: ${describeCycle(names)}`);
  }

  const usesDefault = jobs.some((job) => job.resourceRequirements === null);
  if (usesDefault && !requirementNames.has(DEFAULT_RESOURCE_REQUIREMENTS_NAME)) {
    resourceRequirements.push({ ...DEFAULT_RESOURCE_REQUIREMENTS });
  }
  return {
    name: spec.name,
    description: spec.description ?? null,
    user: spec.user ?? null,
    project: spec.project ?? null,
    metadata: spec.metadata ?? null,
    resourceRequirements,
    slurmSchedulers,
    slurmDefaults: spec.slurm_defaults ?? {},
    files: files.map(({ name, path }) => ({ name, path })),
    userData: userData.map(({ name, data }) => ({ name, data })),
    jobs: jobs.map((job, j): ResolvedJob => {
      const refs = references[j] as JobReferences;
      const jobSpec = spec.jobs[job.specIndex] as JobSpec;
      return {
        name: job.name,
        command: refs.command,
        invocationScript: job.invocationScript,
        resourceRequirements: job.resourceRequirements ?? DEFAULT_RESOURCE_REQUIREMENTS_NAME,
        scheduler: job.scheduler,
        cancelOnBlockingJobFailure: jobSpec.cancel_on_blocking_job_failure ?? true,
        supportsTermination: jobSpec.supports_termination ?? false,
        dependsOn: dependsOn[j] as number[],
        inputFiles: namesOf(refs.inputFiles, files),
        outputFiles: namesOf(refs.outputFiles, files),
        inputUserData: namesOf(refs.inputUserData, userData),
        outputUserData: namesOf(refs.outputUserData, userData),
      };
    }),
    actions: resolveActions(
      spec.actions ?? [],
      { jobIndexByName: jobCatalog.byName, jobMatcher: jobCatalog.matcher, schedulerNames: [...schedulerNames.keys()] },
      reporter,
    ),
  };
}

function toResourceRequirements(spec: ResourceRequirementsSpec): ResolvedResourceRequirements {
  const defaults = DEFAULT_RESOURCE_REQUIREMENTS;
  return {
    name: spec.name,
    numCpus: spec.num_cpus ?? defaults.numCpus,
    numGpus: spec.num_gpus ?? defaults.numGpus,
    numNodes: spec.num_nodes ?? defaults.numNodes,
    memory: spec.memory?.text ?? defaults.memory,
    memoryBytes: spec.memory?.bytes ?? defaults.memoryBytes,
    runtime: spec.runtime?.text ?? defaults.runtime,
    runtimeSeconds: spec.runtime?.seconds ?? defaults.runtimeSeconds,
  };
}

function toSlurmScheduler(spec: SlurmSchedulerSpec): ResolvedSlurmScheduler {
  return {
    name: spec.name,
    account: spec.account ?? null,
    partition: spec.partition ?? null,
    walltime: spec.walltime ?? null,
    nodes: spec.nodes ?? null,
    mem: spec.mem ?? null,
    gres: spec.gres ?? null,
    qos: spec.qos ?? null,
    ntasksPerNode: spec.ntasks_per_node ?? null,
    tmp: spec.tmp ?? null,
    extra: spec.extra ?? null,
  };
}

function withSpecIndex(items: readonly { name: string }[]): Named[] {
  return items.map((item, specIndex) => ({ name: item.name, specIndex }));
}

/**
 * Expands each file or user_data spec over its parameters. `compile` runs once per spec entry
 * and returns the function that builds one instance from a combination.
 */
function expandEach<S extends ParameterizedSpec, T extends { name: string }>(
  specs: readonly S[],
  section: string,
  workflowParameters: Readonly<Record<string, ParameterValue[]>>,
  reporter: SpecReporter,
  compile: (spec: S, set: ParameterSet | null, at: (key: string) => Fail) => (combo: readonly number[]) => T,
): (T & Named)[] {
  const out: (T & Named)[] = [];
  for (const [specIndex, spec] of specs.entries()) {
    const path: SpecPath = [section, specIndex];
    const set = parameterSetOf(spec, workflowParameters, path, reporter);
    const build = compile(spec, set, (key) => reporter.failAt([...path, key]));
    forEachCombination(set, (combo) => out.push({ ...build(combo), specIndex }));
  }
  return out;
}

/** Name -> index, refusing a name given twice with both places in the message. */
function indexNames(
  items: readonly Named[],
  section: string,
  noun: string,
  reporter: SpecReporter,
): Map<string, number> {
  const byName = new Map<string, number>();
  for (const [index, item] of items.entries()) {
    const earlier = byName.get(item.name);
    if (earlier === undefined) {
      byName.set(item.name, index);
      continue;
    }
    const first = (items[earlier] as Named).specIndex;
    const problem =
      first === item.specIndex
        ? `two parameter combinations give the same ${noun} name "${item.name}"`
        : `${noun} name "${item.name}" is defined twice: ${reporter.describePlace([section, first])} and ${reporter.describePlace([section, item.specIndex])}`;
    throw reporter.error('SPEC_DUPLICATE_NAME', [section, item.specIndex, 'name'], problem);
  }
  return byName;
}

function catalog(items: readonly Named[], section: string, noun: string, reporter: SpecReporter): Catalog {
  const byName = indexNames(items, section, noun, reporter);
  return { noun, byName, matcher: new NameMatcher(byName, noun) };
}

function unknownName(noun: string, name: string, known: ReadonlyMap<string, number>): string {
  const defined = known.size === 0 ? 'none are defined' : `defined: ${quoteList([...known.keys()])}`;
  return `unknown ${noun} "${name}" (${defined})`;
}

/** Where a job names something: the spec entry behind entry `at` of one of its lists, or (at -1) its command. */
function entryPath(job: JobInstance, key: JobListKey, at: number): SpecPath {
  return at === -1 ? ['jobs', job.specIndex, 'command'] : ['jobs', job.specIndex, key, originOf(job, key, at)];
}

/** The index of the name in entry `at` of a job's list; an unknown name fails naming its template too. */
function lookup(target: Catalog, job: JobInstance, key: JobListKey, at: number, context: JobContext): number {
  const value = job.lists[key]?.[at] as string;
  const index = target.byName.get(value);
  if (index !== undefined) return index;
  const written = context.specs[job.specIndex]?.[key]?.[originOf(job, key, at)];
  const from = written !== undefined && written !== value ? ` (from "${written}")` : '';
  throw context.reporter.error(
    'SPEC_UNKNOWN_REFERENCE',
    entryPath(job, key, at),
    `unknown ${target.noun} "${value}"${from}`,
  );
}

/** Indices of the names the regex in entry `at` of a job's list matches. */
function matchEntry(target: Catalog, job: JobInstance, key: JobListKey, at: number, context: JobContext) {
  const pattern = job.lists[key]?.[at] as string;
  return target.matcher.match(pattern, (code, problem) => {
    throw context.reporter.error(code, entryPath(job, key, at), problem);
  });
}

const COMMAND_REFERENCE = /\$\{(files|user_data)\.([^}]*)\}/g;

function resolveJobReferences(job: JobInstance, context: JobContext): JobReferences {
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
  return refs;
}

/**
 * Replaces `${files.input.NAME}` and `${files.output.NAME}` with the file's path, and
 * `${user_data.input.NAME}` / `${user_data.output.NAME}` with the name, recording each as read
 * or written by the job, as if it were in its input or output list.
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
    return kind === 'files' ? (context.files[index] as { path: string }).path : name;
  });
}

/**
 * Each job's dependencies as sorted job indices: the jobs it names or matches, and the jobs
 * that write the files and user_data it reads.
 */
function resolveDependencies(
  jobs: readonly JobInstance[],
  references: readonly JobReferences[],
  jobCatalog: Catalog,
  context: JobContext,
): number[][] {
  const fileWriters = writersOf(jobs, references, 'outputFiles', context.fileCatalog, context.reporter);
  const userDataWriters = writersOf(jobs, references, 'outputUserData', context.userDataCatalog, context.reporter);
  return jobs.map((job, j) => {
    const deps: number[] = [];
    const names = job.lists.depends_on ?? NO_ENTRIES;
    for (let at = 0; at < names.length; at++) deps.push(lookup(jobCatalog, job, 'depends_on', at, context));
    const regexes = job.lists.depends_on_regexes ?? NO_ENTRIES;
    for (let at = 0; at < regexes.length; at++) {
      for (const index of matchEntry(jobCatalog, job, 'depends_on_regexes', at, context)) deps.push(index);
    }
    const refs = references[j] as JobReferences;
    addWriters(deps, j, refs.inputFiles, fileWriters);
    addWriters(deps, j, refs.inputUserData, userDataWriters);
    return sortedUnique(deps);
  });
}

function addWriters(deps: number[], job: number, reads: readonly Reference[], writers: Int32Array): void {
  for (const ref of reads) {
    const writer = writers[ref.index] as number;
    // Reading what the job itself writes is an update in place, not a wait on itself.
    if (writer !== -1 && writer !== job) deps.push(writer);
  }
}

/** The job that writes each file or user_data entry (-1: none); two writers are an error. */
function writersOf(
  jobs: readonly JobInstance[],
  references: readonly JobReferences[],
  list: 'outputFiles' | 'outputUserData',
  target: Catalog,
  reporter: SpecReporter,
): Int32Array {
  const writers = new Int32Array(target.byName.size).fill(-1);
  for (const [j, refs] of references.entries()) {
    for (const ref of refs[list]) {
      const writer = writers[ref.index] as number;
      if (writer !== -1 && writer !== j) {
        const other = jobs[writer] as JobInstance;
        const job = jobs[j] as JobInstance;
        throw reporter.error(
          'SPEC_INVALID',
          entryPath(job, ref.key, ref.at),
          `${target.noun} "${target.matcher.nameAt(ref.index)}" is written by two jobs: "${other.name}" (${reporter.describePlace(['jobs', other.specIndex])}) and "${job.name}"`,
        );
      }
      writers[ref.index] = j;
    }
  }
  return writers;
}

/**
 * Shared by every job that reads or writes nothing: 100k-job specs would otherwise keep
 * hundreds of thousands of empty arrays. Frozen, so that a consumer that pushes into one fails
 * instead of changing every job.
 */
const NO_NAMES = Object.freeze([]) as unknown as string[];

function namesOf(refs: readonly Reference[], items: readonly { name: string }[]): string[] {
  if (refs.length === 0) return NO_NAMES;
  return [...new Set(refs.map((ref) => (items[ref.index] as { name: string }).name))];
}

/** `a -> b -> c -> a`, shortened in the middle when the cycle is long enough to flood a terminal. */
function describeCycle(names: readonly string[]): string {
  const shown =
    names.length <= 20 ? names : [...names.slice(0, 10), `... (${names.length - 15} more)`, ...names.slice(-5)];
  return [...shown, names[0]].join(' -> ');
}
