import type { ResolvedAction, ResolvedResourceRequirements, ResolvedSlurmScheduler } from './resolved-workflow.js';
import { type SlurmLimits, slurmLimits } from './slurm-limit-parser.js';
import type { SpecReporter } from './spec-error.js';

/** What the check needs to know of a job: its name, where it is, and what it asks for. */
export interface FitJob {
  name: string;
  specIndex: number;
  /** as the spec named it; null: the default requirements */
  resourceRequirements: string | null;
  scheduler: string | null;
}

export interface FitContext {
  jobs: readonly FitJob[];
  /** with the default entry when a job uses it */
  resourceRequirements: readonly ResolvedResourceRequirements[];
  defaultRequirementsName: string;
  slurmSchedulers: readonly ResolvedSlurmScheduler[];
  slurmDefaults: Readonly<Record<string, unknown>>;
  actions: readonly ResolvedAction[];
}

/** A scheduler's allocations as one worker sees them: a worker per node has one node. */
interface Place {
  scheduler: string;
  limits: SlurmLimits;
  /** the action whose allocations these are, when the job is checked against an action */
  action: number | null;
  oneWorkerPerNode: boolean;
}

/**
 * Refuses (SPEC_INVALID, naming the job, the requirement and the scheduler) a job that can never
 * run: one whose runtime, cpus, memory, gpus or nodes exceed what every allocation of the
 * scheduler it names has, or of a schedule_nodes action that serves it. An action serves the
 * jobs it lists, whatever its trigger; an on_workflow_start one that lists none serves the jobs
 * that name its scheduler. A job naming no scheduler may run on any worker, so only the actions
 * that list it are checked. Only limits the scheduler's options settle are checked
 * (slurmLimits). Results are kept per requirement and place: 100k jobs share a few of each.
 */
export function checkSchedulerFit(context: FitContext, reporter: SpecReporter): void {
  if (context.slurmSchedulers.length === 0) return;
  const requirements = new Map(context.resourceRequirements.map((r) => [r.name, r]));
  const limits = new Map(context.slurmSchedulers.map((s) => [s.name, slurmLimits(s, context.slurmDefaults)]));
  const placeOfScheduler = new Map<string, Place>();
  for (const [name, l] of limits)
    placeOfScheduler.set(name, { scheduler: name, limits: l, action: null, oneWorkerPerNode: false });

  const schedulingActions = context.actions
    .map((action, index) => ({ action, index }))
    .filter(({ action }) => action.actionType === 'schedule_nodes' && action.scheduler !== null);
  const listedBy = new Map<number, Place[]>();
  const servingByScheduler = new Map<string, Place[]>();
  for (const { action, index } of schedulingActions) {
    const place: Place = {
      scheduler: action.scheduler as string,
      limits: limits.get(action.scheduler as string) as SlurmLimits,
      action: index,
      oneWorkerPerNode: action.startOneWorkerPerNode,
    };
    if (action.jobs.length > 0) {
      for (const job of action.jobs) {
        const places = listedBy.get(job);
        if (places) places.push(place);
        else listedBy.set(job, [place]);
      }
    } else if (action.triggerType === 'on_workflow_start') {
      const places = servingByScheduler.get(place.scheduler);
      if (places) places.push(place);
      else servingByScheduler.set(place.scheduler, [place]);
    }
  }

  const verdicts = new Map<string, string | null>();
  for (const [index, job] of context.jobs.entries()) {
    const places: Place[] = [];
    if (job.scheduler !== null) {
      const own = placeOfScheduler.get(job.scheduler);
      if (own) places.push(own);
      places.push(...(servingByScheduler.get(job.scheduler) ?? []));
    }
    places.push(...(listedBy.get(index) ?? []));
    if (places.length === 0) continue;
    const requirementName = job.resourceRequirements ?? context.defaultRequirementsName;
    const requirement = requirements.get(requirementName);
    if (!requirement) continue;
    const asked =
      job.resourceRequirements === null && requirementName === context.defaultRequirementsName
        ? 'the default resource requirements'
        : `resource_requirements "${requirementName}"`;
    for (const place of places) {
      const key = `${asked}\u0000${place.scheduler}\u0000${place.action ?? ''}`;
      let problem = verdicts.get(key);
      if (problem === undefined) {
        problem = misfit(requirement, asked, place);
        verdicts.set(key, problem);
      }
      if (problem !== null)
        throw reporter.error('SPEC_INVALID', ['jobs', job.specIndex], `job "${job.name}" ${problem}`);
    }
  }
}

/** Why the requirement (`asked` names it) never fits the place, or null. */
function misfit(r: ResolvedResourceRequirements, asked: string, place: Place): string | null {
  const l = place.limits;
  const where =
    place.action === null
      ? `scheduler "${place.scheduler}"`
      : `scheduler "${place.scheduler}" (of actions[${place.action}], which serves it)`;
  if (l.walltimeSeconds && r.runtimeSeconds > l.walltimeSeconds.value) {
    return `needs runtime ${r.runtime} (${asked}) but ${where} allows ${l.walltimeSeconds.said}`;
  }
  if (l.nodes && r.numNodes > l.nodes.value) {
    return `needs ${r.numNodes} nodes (${asked}) but ${where} allows ${l.nodes.said}`;
  }
  if (place.oneWorkerPerNode && r.numNodes > 1) {
    return `needs ${r.numNodes} nodes (${asked}) but actions[${place.action}] starts one worker per node of scheduler "${place.scheduler}", so each worker has 1 node`;
  }
  if (l.cpusPerNode && r.numCpus > l.cpusPerNode.value) {
    return `needs ${r.numCpus} cpus (${asked}) but ${where} gives ${l.cpusPerNode.value} cpus per node (${l.cpusPerNode.said})`;
  }
  if (l.memoryBytesPerNode && r.memoryBytes > l.memoryBytesPerNode.value) {
    return `needs memory ${r.memory} (${asked}) but ${where} allows ${l.memoryBytesPerNode.said}`;
  }
  if (l.gpusPerNode && r.numGpus > l.gpusPerNode.value) {
    return `needs ${r.numGpus} gpus (${asked}) but ${where} gives ${l.gpusPerNode.value} gpus per node (${l.gpusPerNode.said})`;
  }
  return null;
}
