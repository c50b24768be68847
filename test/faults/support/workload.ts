import type { ResolvedWorkflow, TriggerType } from '@sluice/core';
import { type ActionSketch, buildWorkflowWithActions, type JobSketch } from '../../support/workflow-builder.js';
import type { JobLedger } from './job-ledger.js';

/** A small seeded PRNG (mulberry32): the same seed, the same workflow and the same chaos. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = a;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

export interface WorkloadOptions {
  jobs: number;
  /** jobs per layer; each job past the first layer depends on one to three of the layer before */
  width: number;
  /** shell run by every job inside the ledger */
  work: string;
  /** how many actions of each trigger type (0: none) */
  actionsPerTrigger?: number;
  seed?: number;
  /** extra jobs, outside the layers (a gate the test opens, say) */
  extraJobs?: Record<string, JobSketch>;
}

const TRIGGERS: TriggerType[] = [
  'on_workflow_start',
  'on_workflow_complete',
  'on_jobs_ready',
  'on_jobs_complete',
  'on_worker_start',
  'on_worker_complete',
];

/** A layered workflow of ledger jobs with actions of every trigger type whose commands record themselves. */
export function layeredWorkflow(ledger: JobLedger, o: WorkloadOptions): ResolvedWorkflow {
  const rnd = seededRandom(o.seed ?? 1);
  const jobs: Record<string, JobSketch> = {};
  const names: string[][] = [];
  for (let i = 0; i < o.jobs; i++) {
    const layer = Math.floor(i / o.width);
    names[layer] ??= [];
    const name = `L${layer}_${i % o.width}`;
    const prev = names[layer - 1];
    const deps = prev
      ? [
          ...new Set(
            Array.from({ length: 1 + Math.floor(rnd() * 3) }, () => prev[Math.floor(rnd() * prev.length)] as string),
          ),
        ]
      : [];
    jobs[name] = { deps, command: ledger.job(o.work) };
    names[layer]?.push(name);
  }
  Object.assign(jobs, o.extraJobs ?? {});
  const actions: ActionSketch[] = [];
  const n = o.actionsPerTrigger ?? 0;
  for (const trigger of TRIGGERS) {
    for (let k = 0; k < n; k++) {
      const tag = `${trigger}-${k}`;
      const picks =
        trigger === 'on_jobs_ready' || trigger === 'on_jobs_complete'
          ? (names[Math.floor(rnd() * names.length)] ?? []).filter(() => rnd() < 0.5).slice(0, 20)
          : [];
      const selected = picks.length > 0 ? picks : trigger.startsWith('on_jobs') ? [names[0]?.[0] as string] : [];
      actions.push({ trigger, jobs: selected, commands: [ledger.action(tag)] });
    }
  }
  return buildWorkflowWithActions(jobs, actions);
}
