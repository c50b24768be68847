// Reusable child processes (processes/*-process.mjs in their 'run' message mode): a benchmark
// that runs many short repetitions would otherwise time, or at least wait for, node's start-up
// dozens of times. A process that failed a run is not reused.
import path from 'node:path';
import { BENCH_DIR, startNodeChild } from './child-process-harness.mjs';

export const DRIVER_SCRIPT = path.join(BENCH_DIR, 'processes/noop-driver-process.mjs');
export const GRAPHILE_SCRIPT = path.join(BENCH_DIR, 'processes/graphile-worker-process.mjs');

/** The pools a run of the suite shares: no-op drivers and graphile-worker processes. */
export const createPools = () => ({
  driver: new ProcessPool(DRIVER_SCRIPT, 'no-op driver'),
  graphile: new ProcessPool(GRAPHILE_SCRIPT, 'graphile-worker'),
});

export class ProcessPool {
  constructor(script, label) {
    this.script = script;
    this.label = label;
    this.idle = [];
  }

  take(n) {
    this.idle = this.idle.filter((c) => c.alive);
    while (this.idle.length < n) this.idle.push(startNodeChild(this.script, [], { label: this.label }));
    const out = this.idle.splice(0, n);
    for (const c of out) c.clearQueue();
    return out;
  }

  give(children) {
    this.idle.push(...children.filter((c) => c.alive));
  }

  discard(children) {
    for (const c of children) c.kill('SIGKILL');
  }

  async close() {
    const all = this.idle.splice(0);
    for (const c of all) c.send({ type: 'exit' });
    await Promise.all(all.map((c) => Promise.race([c.exited, new Promise((r) => setTimeout(r, 5000).unref())])));
    this.discard(all);
  }
}
