import { resolveActions } from './action-resolver.js';
import { type JobReferences, type Reference, resolveJobReferences } from './command-references.js';
import { findCycle, resolveDependencies } from './dependency-graph.js';
import { expandJobs, type JobInstance } from './job-expander.js';
import { catalog, indexNames, type JobContext, type Named, unknownName } from './name-catalog.js';
import {
  forEachCombination,
  type ParameterizedSpec,
  type ParameterSet,
  parameterSetOf,
  refuseTooManyInstances,
} from './parameter-combinations.js';
import type { ParameterValue } from './parameter-value-parser.js';
import {
  DEFAULT_RESOURCE_REQUIREMENTS_NAME,
  type ResolvedJob,
  type ResolvedResourceRequirements,
  type ResolvedSlurmScheduler,
  type ResolvedWorkflow,
} from './resolved-workflow.js';
import type { ResourceRequirementsSpec, SlurmSchedulerSpec } from './resource-schema.js';
import { checkSchedulerFit } from './scheduler-fit-checker.js';
import { resolveFailureHandlers, resolveResourceMonitor } from './settings-resolver.js';
import type { Fail, SpecPath, SpecReporter } from './spec-error.js';
import type { JobSpec, WorkflowSpec } from './spec-schema.js';
import { compileTemplate } from './template-compiler.js';
import { renderData } from './user-data-expander.js';

/** What a job with no resource_requirements gets, as torc's server model: one CPU for a minute. */
const DEFAULT_RESOURCE_REQUIREMENTS: ResolvedResourceRequirements = {
  name: DEFAULT_RESOURCE_REQUIREMENTS_NAME,
  numCpus: 1,
  numGpus: 0,
  numNodes: 1,
  memory: '1m',
  memoryBytes: 1024 * 1024,
  runtime: 'P0DT1M',
  runtimeSeconds: 60,
};

/** A named requirement that leaves its runtime out gets an hour, as in torc's spec. */
const NAMED_REQUIREMENT_RUNTIME = { runtime: 'PT1H', runtimeSeconds: 3600 };

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
    const isEphemeral = entry.is_ephemeral ?? false;
    return (combo) => ({
      name: name.render(combo),
      data: renderData(entry.data ?? null, set, combo, at('data')),
      isEphemeral,
    });
  });
  const jobs = expandJobs(spec.jobs, workflowParameters, reporter);
  const jobCatalog = catalog(jobs, 'jobs', 'job', reporter);
  const failureHandlers = resolveFailureHandlers(spec.failure_handlers ?? [], reporter);
  checkJobSettings(spec.jobs, failureHandlers.names, reporter);
  const context: JobContext = {
    specs: spec.jobs,
    files,
    userData,
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
  const actions = resolveActions(
    spec.actions ?? [],
    { jobIndexByName: jobCatalog.byName, jobMatcher: jobCatalog.matcher, schedulerNames: [...schedulerNames.keys()] },
    reporter,
  );
  const slurmDefaults = spec.slurm_defaults ?? {};
  checkSchedulerFit(
    {
      jobs,
      resourceRequirements,
      defaultRequirementsName: DEFAULT_RESOURCE_REQUIREMENTS_NAME,
      slurmSchedulers,
      slurmDefaults,
      actions,
    },
    reporter,
  );
  return {
    name: spec.name,
    description: spec.description ?? null,
    user: spec.user ?? null,
    project: spec.project ?? null,
    metadata: spec.metadata ?? null,
    resourceRequirements,
    slurmSchedulers,
    slurmDefaults,
    files: files.map(({ name, path }) => ({ name, path })),
    userData: userData.map(({ name, data, isEphemeral }) => ({ name, data, isEphemeral })),
    jobs: jobs.map((job, j): ResolvedJob => {
      const refs = references[j] as JobReferences;
      const jobSpec = spec.jobs[job.specIndex] as JobSpec;
      return {
        name: job.name,
        command: refs.command,
        invocationScript: job.invocationScript,
        resourceRequirements: job.resourceRequirements ?? DEFAULT_RESOURCE_REQUIREMENTS_NAME,
        scheduler: job.scheduler,
        priority: jobSpec.priority ?? 0,
        failureHandler: jobSpec.failure_handler ?? null,
        cancelOnBlockingJobFailure: jobSpec.cancel_on_blocking_job_failure ?? true,
        supportsTermination: jobSpec.supports_termination ?? false,
        dependsOn: dependsOn[j] as number[],
        inputFiles: namesOf(refs.inputFiles, files),
        outputFiles: namesOf(refs.outputFiles, files),
        inputUserData: namesOf(refs.inputUserData, userData),
        outputUserData: namesOf(refs.outputUserData, userData),
      };
    }),
    actions,
    failureHandlers: failureHandlers.handlers,
    resourceMonitor: resolveResourceMonitor(spec.resource_monitor),
  };
}

/** Settings of job specs that expansion does not touch: the failure handler a job names must exist. */
function checkJobSettings(
  specs: readonly JobSpec[],
  handlerNames: ReadonlyMap<string, number>,
  reporter: SpecReporter,
) {
  for (const [specIndex, job] of specs.entries()) {
    const handler = job.failure_handler;
    if (handler != null && !handlerNames.has(handler)) {
      const problem = unknownName('failure handler', handler, handlerNames);
      throw reporter.error('SPEC_UNKNOWN_REFERENCE', ['jobs', specIndex, 'failure_handler'], problem);
    }
  }
}

function toResourceRequirements(spec: ResourceRequirementsSpec): ResolvedResourceRequirements {
  const defaults = { ...DEFAULT_RESOURCE_REQUIREMENTS, ...NAMED_REQUIREMENT_RUNTIME };
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
    refuseTooManyInstances(out.length, set, path, section, reporter);
    const build = compile(spec, set, (key) => reporter.failAt([...path, key]));
    forEachCombination(set, (combo) => out.push({ ...build(combo), specIndex }));
  }
  return out;
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
