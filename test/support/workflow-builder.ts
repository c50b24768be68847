import {
  parseDuration,
  parseMemory,
  type ResolvedAction,
  type ResolvedJob,
  type ResolvedResourceRequirements,
  type ResolvedWorkflow,
} from '@sluice/core';

export interface JobSketch {
  deps?: string[];
  command?: string;
  cob?: boolean;
  rr?: string;
  supportsTermination?: boolean;
}

/** A resource requirement by its spec values; unset ones as the spec defaults them. */
export interface RequirementSketch {
  cpus?: number;
  gpus?: number;
  nodes?: number;
  memory?: string;
  runtime?: string;
}

export function requirement(name: string, r: RequirementSketch = {}): ResolvedResourceRequirements {
  const memory = r.memory ?? '1m';
  const runtime = r.runtime ?? 'PT1H';
  return {
    name,
    numCpus: r.cpus ?? 1,
    numGpus: r.gpus ?? 0,
    numNodes: r.nodes ?? 1,
    memory,
    memoryBytes: parseMemory(memory),
    runtime,
    runtimeSeconds: parseDuration(runtime),
  };
}

/**
 * A ResolvedWorkflow from a compact sketch, for tests of the database and the worker that do
 * not need the spec loader: `{ a: {}, b: { deps: ['a'] } }`. Jobs name requirements with `rr`;
 * `requirements` defines them beside `default` (1 cpu, 1m, PT1H).
 */
export function buildWorkflow(
  jobs: Record<string, JobSketch>,
  extra: Partial<ResolvedWorkflow> = {},
  requirements: Record<string, RequirementSketch> = {},
): ResolvedWorkflow {
  const names = Object.keys(jobs);
  const index = new Map(names.map((n, i) => [n, i]));
  const resolvedJobs: ResolvedJob[] = names.map((name) => {
    const j = jobs[name] ?? {};
    return {
      name,
      command: j.command ?? 'true',
      invocationScript: null,
      resourceRequirements: j.rr ?? 'default',
      scheduler: null,
      priority: 0,
      failureHandler: null,
      cancelOnBlockingJobFailure: j.cob ?? true,
      supportsTermination: j.supportsTermination ?? false,
      dependsOn: (j.deps ?? []).map((d) => {
        const i = index.get(d);
        if (i === undefined) throw new Error(`sketch: unknown job ${d}`);
        return i;
      }),
      inputFiles: [],
      outputFiles: [],
      inputUserData: [],
      outputUserData: [],
    };
  });
  return {
    name: 'sketch',
    description: null,
    user: null,
    project: null,
    metadata: null,
    resourceRequirements: [
      requirement('default'),
      ...Object.entries(requirements).map(([name, r]) => requirement(name, r)),
    ],
    slurmSchedulers: [],
    slurmDefaults: {},
    files: [],
    userData: [],
    jobs: resolvedJobs,
    actions: [],
    failureHandlers: [],
    resourceMonitor: { enabled: false, granularity: 'summary', sampleIntervalSeconds: 5, generatePlots: false },
    ...extra,
  };
}

export interface ActionSketch {
  trigger: ResolvedAction['triggerType'];
  jobs?: string[];
  commands?: string[];
  persistent?: boolean;
}

/** A sketch with actions: job names in `jobs` are resolved to indices as the spec loader would. */
export function buildWorkflowWithActions(
  jobs: Record<string, JobSketch>,
  actions: ActionSketch[],
  extra: Partial<ResolvedWorkflow> = {},
): ResolvedWorkflow {
  const wf = buildWorkflow(jobs, extra);
  const index = new Map(wf.jobs.map((j, i) => [j.name, i]));
  wf.actions = actions.map((a) => ({
    triggerType: a.trigger,
    actionType: 'run_commands',
    persistent: a.persistent ?? (a.trigger === 'on_worker_start' || a.trigger === 'on_worker_complete'),
    jobs: (a.jobs ?? []).map((n) => {
      const i = index.get(n);
      if (i === undefined) throw new Error(`sketch: unknown job ${n}`);
      return i;
    }),
    commands: a.commands ?? ['true'],
    scheduler: null,
    schedulerType: null,
    numAllocations: null,
    startOneWorkerPerNode: false,
    maxParallelJobs: null,
  }));
  return wf;
}
