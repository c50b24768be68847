import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { useTestDatabase } from '../support/test-database.js';
import { type Scenario, scenarioArb, scenarioYaml } from './scenario-generator.js';
import { ScenarioRunner } from './scenario-runner.js';

/**
 * Model-based test of workflow actions: random DAGs, random actions and random interleavings of
 * what workers, users and admins do, each in a workflow of its own, compared step by step with
 * the reference model (workflow-model.ts). SLUICE_MODEL_RUNS=500 searches deeper;
 * SLUICE_MODEL_SEED replays a reported seed.
 */

const t = useTestDatabase('model_workflow_actions');
const RUNS = Number(process.env.SLUICE_MODEL_RUNS ?? 60);
const MAX_OPS = Number(process.env.SLUICE_MODEL_OPS ?? 40);
const SEED = process.env.SLUICE_MODEL_SEED ? Number(process.env.SLUICE_MODEL_SEED) : undefined;
// Time for the runs and for shrinking a counterexample, scaled to the number of runs: the
// default stays well under a minute on a loaded machine; a run cut short by it still passes
// (the summary says how many scenarios ran), a counterexample found is reported as shrunk so far.
const BUDGET_MS = Math.max(30_000, RUNS * 500);

function describeScenario(s: Scenario): string {
  return s.viaYaml ? scenarioYaml(s) : JSON.stringify({ jobs: s.jobs, actions: s.actions });
}

describe('workflow actions against the reference model', () => {
  it(
    'agrees with the model on job statuses, counts, action statuses and executed flags after every step',
    async () => {
      let steps = 0;
      let runs = 0;
      const kinds = new Map<string, number>();
      await fc.assert(
        fc.asyncProperty(scenarioArb(MAX_OPS), async (s) => {
          const r = await ScenarioRunner.start(t.handle, s);
          try {
            await r.play(s.ops);
          } catch (e) {
            (e as Error).message += `\nspec:\n${describeScenario(s)}`;
            throw e;
          } finally {
            steps += r.steps;
            runs += 1;
            for (const [k, n] of r.kinds) kinds.set(k, (kinds.get(k) ?? 0) + n);
          }
        }),
        { numRuns: RUNS, seed: SEED, interruptAfterTimeLimit: BUDGET_MS, markInterruptAsFailure: false },
      );
      const summary = [...kinds].sort(([a], [b]) => a.localeCompare(b)).map(([k, n]) => `${k}: ${n}`);
      process.stderr.write(`model: ${runs} scenarios, ${steps} steps checked\n  ${summary.join('\n  ')}\n`);
      expect(runs).toBeGreaterThan(0);
    },
    BUDGET_MS + 30_000,
  );
});
