import type { WorkflowStallFacts } from '@sluice/core';
import { type AllocationInSlurm, describeStall } from '@sluice/runner';
import { describe, expect, it } from 'vitest';

// What `workflows status` says from the stall facts and Slurm's view of the allocations. The
// facts come from the database in test/engine/lifecycle.test.ts and the Slurm side from a real
// Slurm in test/faults/slurm-faults.test.ts; here, the cases a test Slurm cannot produce at will.

const facts = (over: Partial<WorkflowStallFacts> = {}): WorkflowStallFacts => ({
  ready: 3,
  unfit: 3,
  unfit_is_lower_bound: false,
  need_cpus: 16,
  need_memory_bytes: null,
  need_gpus: null,
  need_nodes: null,
  need_runtime_seconds: null,
  need_schedulers: [],
  live_workers: 0,
  max_cpus: null,
  max_memory_bytes: null,
  max_gpus: null,
  max_nodes: null,
  max_seconds_left: null,
  queued_allocations: 1,
  ...over,
});

const pending = (id: number, reason: string, neverStarts: boolean): AllocationInSlurm => ({
  id,
  scheduler: 'cpu',
  slurmJobId: String(4000 + id),
  status: 'pending',
  slurmState: 'PENDING',
  slurmReason: reason,
  neverStarts,
});

const slurm = (live: AllocationInSlurm[], unavailable: string | null = null) => ({
  live,
  ended: [],
  unavailable,
  states: new Map(),
});

describe('what holds ready jobs back', () => {
  it('an allocation pending for a reason that passes: waiting, not stalled', () => {
    expect(describeStall(7, facts(), slurm([pending(1, 'Priority', false)]))).toEqual({
      stalled: null,
      waiting: '3 ready jobs wait for allocation 1 (Slurm job 4001 of scheduler "cpu": PENDING, Priority)',
    });
  });

  it('every queued allocation pending for a reason that does not pass: stalled, saying which', () => {
    const r = describeStall(
      7,
      facts({ queued_allocations: 2 }),
      slurm([pending(1, 'PartitionTimeLimit', true), pending(2, 'QOSMaxWallDurationPerJobLimit', true)]),
    );
    expect(r.waiting).toBeNull();
    expect(r.stalled).toBe(
      '3 ready jobs wait for allocation 1 (Slurm job 4001 of scheduler "cpu": PENDING, PartitionTimeLimit), ' +
        'allocation 2 (Slurm job 4002 of scheduler "cpu": PENDING, QOSMaxWallDurationPerJobLimit), ' +
        'which Slurm will not start as requested',
    );
  });

  it('one allocation that may still start is enough to wait for', () => {
    const r = describeStall(
      7,
      facts({ queued_allocations: 2 }),
      slurm([pending(1, 'PartitionTimeLimit', true), pending(2, 'Resources', false)]),
    );
    expect(r.stalled).toBeNull();
    expect(r.waiting).toMatch(/^3 ready jobs wait for allocation 1 .*, allocation 2 .*Resources\)$/);
  });

  it('Slurm unreachable: still waiting, saying that Slurm could not be asked', () => {
    expect(describeStall(7, facts(), slurm([], 'squeue could not report on jobs 4001: timed out')).waiting).toBe(
      '3 ready jobs wait for 1 queued allocation (Slurm could not be asked: squeue could not report on jobs 4001: timed out)',
    );
  });

  it('a sampled count says it is a lower bound', () => {
    const r = describeStall(
      7,
      facts({ queued_allocations: 0, unfit: 10_000, unfit_is_lower_bound: true, live_workers: 2, max_cpus: 8 }),
    );
    expect(r.stalled).toBe('at least 10000 ready jobs need 16 cpus; live workers have at most 8');
  });

  it('nothing unfit: neither', () => {
    expect(describeStall(7, facts({ unfit: 0 }))).toEqual({ stalled: null, waiting: null });
  });
});
