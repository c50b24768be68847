import { jobsClaimReady, workersRegister, workflowsCreate, workflowsInitialize } from '@sluice/core';
import { describe, expect, it } from 'vitest';
import { useTestDatabase } from '../support/test-database.js';
import { buildWorkflow, type JobSketch, type RequirementSketch } from '../support/workflow-builder.js';

const t = useTestDatabase('node-packing');

async function workflowOf(jobs: Record<string, JobSketch>, requirements: Record<string, RequirementSketch> = {}) {
  const id = await workflowsCreate(t.handle.db, buildWorkflow(jobs, {}, requirements));
  await workflowsInitialize(t.handle.db, id);
  return id;
}

async function worker(workflowId: number, numCpus: number, numNodes: number) {
  return workersRegister(t.handle.db, {
    workflowId,
    hostname: 'h',
    pid: 1,
    osUser: null,
    numCpus,
    memoryBytes: 2 ** 40,
    numGpus: 0,
    numNodes,
    maxParallelJobs: null,
    endsAt: null,
    heartbeatTimeoutSeconds: 600,
  });
}

const claim = (workerId: number, cpus: number, nodes: number) =>
  jobsClaimReady(t.handle.db, {
    workerId,
    limit: 64,
    useResources: true,
    freeCpus: cpus,
    freeMemoryBytes: 2 ** 40,
    freeGpus: 0,
    freeNodes: nodes,
    maxRuntimeSeconds: null,
  });

// A one-node job shares its node by cpus, memory and gpus (torc's node packing); only a job of
// several nodes holds them. Until migration 0014 every job used up a node, so a one-node worker
// ran its 1-cpu jobs one at a time whatever cpus it had.
describe('resource-based claims pack a node', () => {
  it('a one-node worker with 8 free cpus claims eight 1-cpu jobs in one call', async () => {
    const jobs: Record<string, JobSketch> = {};
    for (let i = 0; i < 12; i++) jobs[`j${i}`] = {};
    const id = await workflowOf(jobs);
    const w = await worker(id, 8, 1);
    expect(await claim(w.id, 8, 1)).toHaveLength(8);
    // What is left fits the cpus the worker says are still free, not more.
    expect(await claim(w.id, 3, 1)).toHaveLength(3);
    expect(await claim(w.id, 0, 1)).toHaveLength(0);
  });

  it('a multi-node job holds its nodes; one-node jobs together hold one', async () => {
    const id = await workflowOf(
      { wide1: { rr: 'wide' }, wide2: { rr: 'wide' }, narrow1: {}, narrow2: {} },
      // Longer than the default requirement's hour: the wide jobs come first in a claim.
      { wide: { cpus: 1, nodes: 2, runtime: 'PT2H' } },
    );
    const w = await worker(id, 16, 2);
    // One wide job takes both nodes: neither the other nor a one-node job fits beside it.
    expect((await claim(w.id, 16, 2)).map((j) => j.name)).toEqual(['wide1']);
    // The worker passes the nodes its multi-node jobs hold as used.
    expect(await claim(w.id, 15, 0)).toHaveLength(0);
    await t.query(
      "UPDATE sluice.jobs SET status = 'ready', worker_id = NULL WHERE workflow_id = $1 AND name = 'wide1'",
      [id],
    );
    // A 3-node worker: one wide job (2 nodes), then both one-node jobs packed on the third.
    const w3 = await worker(id, 16, 3);
    expect((await claim(w3.id, 16, 3)).map((j) => j.name).sort()).toEqual(['narrow1', 'narrow2', 'wide1']);
    // Running one-node jobs keep their node: 3 - 2 (wide1) - 1 (the narrow jobs) leaves none for wide2.
    expect(await claim(w3.id, 13, 1)).toHaveLength(0);
  });
});
