// ADAPTER (shared): how the benchmarks migrate a database and run the `sluice` CLI bundle.
// Every figure creates its workflows through createAndInitialize() (the CLI, where the figure
// measures creation or the state right after it; createThenInitialize() is the two-command way)
// or setUpWorkflow() (in this process, where the
// workflow is only the set-up of what is measured: it saves two node start-ups per run).
import path from 'node:path';
import { migrate, openPool, workflowsInitialize } from '@sluice/core';
import { createWorkflow, loadSpec } from '@sluice/runner';
import { REPO_DIR, runNodeOk, startNodeChild } from '../lib/child-process-harness.mjs';

export const SLUICE_CLI = path.join(REPO_DIR, 'packages/cli/dist/bundle/sluice.mjs');

export async function migrateSluice(url) {
  await migrate(url);
}

/** `sluice --database-url <url> ...args`, to its end; fails unless it exits 0. */
export function runSluice(url, args, opts = {}) {
  return runNodeOk(SLUICE_CLI, ['--database-url', url, ...args], opts);
}

/** A long-running `sluice` process (a worker); see startNodeChild. */
export function startSluice(url, args, opts = {}) {
  return startNodeChild(SLUICE_CLI, ['--database-url', url, ...args], { label: `sluice ${args[0]}`, ...opts });
}

/** The id `workflows create --json` printed. */
function createdId(stdout) {
  const id = JSON.parse(stdout).id;
  if (!Number.isInteger(id)) throw new Error(`workflows create printed no id: ${stdout.slice(0, 200)}`);
  return id;
}

/**
 * `sluice workflows create <spec> --initialize --json`: one process and one transaction, the way
 * `run` and `submit` create a workflow. Returns the workflow id, the command's wall time (ms) and
 * its peak RSS (KiB).
 */
export async function createAndInitialize(url, specPath) {
  const created = await runSluice(url, ['workflows', 'create', specPath, '--initialize', '--json']);
  const id = createdId(created.stdout);
  return { id, ms: created.ms, maxRssKiB: created.maxRssKiB };
}

/**
 * `sluice workflows create <spec> --json` then `sluice workflows initialize <id>`: the id, each
 * command's wall time (ms) and the create process's peak RSS (KiB).
 */
export async function createThenInitialize(url, specPath) {
  const created = await runSluice(url, ['workflows', 'create', specPath, '--json']);
  const id = createdId(created.stdout);
  const init = await runSluice(url, ['workflows', 'initialize', String(id)]);
  return { id, createMs: created.ms, initMs: init.ms, createMaxRssKiB: created.maxRssKiB };
}

/** Loads the spec, creates and initializes the workflow in this process; returns its id. */
export async function setUpWorkflow(url, specPath) {
  const spec = await loadSpec(specPath);
  const h = openPool(url, { max: 1 });
  try {
    const id = await createWorkflow(h, spec);
    await workflowsInitialize(h.db, id);
    return { id };
  } finally {
    await h.close();
  }
}
