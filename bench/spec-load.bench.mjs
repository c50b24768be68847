// Loading big specs: 100k jobs with 100k dependencies as JSON, and 100k parameterized jobs
// with per-instance dependencies and regexes as YAML. Baseline, in the same process: plain
// JSON.parse of the same JSON text (the floor for reading the spec at all).
//
//   pnpm build && node bench/spec-load.bench.mjs
import { loadSpecText } from '../packages/core/dist/spec/index.js';

const N = Number(process.argv[2] ?? 100_000);
const json = JSON.stringify({
  name: 'big',
  jobs: Array.from({ length: N }, (_, i) => ({
    name: `job_${i}`,
    command: `echo ${i}`,
    ...(i > 0 && { depends_on: [`job_${i - 1}`] }),
  })),
});
const yaml = `name: big
jobs:
  - name: prep_{i}
    command: prep {i}
    parameters: {i: "1:${N / 2}"}
  - name: work_{i}
    command: work {i}
    depends_on: ["prep_{i}"]
    depends_on_regexes: ["prep_{i}"]
    parameters: {i: "1:${N / 2}"}
  - name: done
    command: x
    depends_on_regexes: ["work_.*"]
`;

function best(fn, runs = 3) {
  let min = Number.POSITIVE_INFINITY;
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint();
    fn();
    min = Math.min(min, Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return min;
}

const base = best(() => JSON.parse(json));
const fromJson = best(() => loadSpecText(json, { format: 'json', source: 'big.json' }));
const fromYaml = best(() => loadSpecText(yaml, { format: 'yaml', source: 'big.yaml' }));
console.log(`baseline JSON.parse of ${N} jobs   ${base.toFixed(0)} ms`);
console.log(`load ${N} jobs from JSON          ${fromJson.toFixed(0)} ms  (${(fromJson / base).toFixed(1)}x baseline)`);
console.log(
  `load ${N} parameterized jobs (YAML) ${fromYaml.toFixed(0)} ms  (${(fromYaml / base).toFixed(1)}x baseline)`,
);
