// ADAPTER (spec format): every workflow the benchmarks create is written as a Sluice JSON spec
// file here. If the spec vocabulary changes (key names, action shapes), change this file only.
import { closeSync, openSync, writeSync } from 'node:fs';

/**
 * Writes a spec file without building the whole document in memory (1M jobs are ~100 MB of
 * JSON). `jobs(i)` returns job i's spec object; `actions(k)` action k's.
 */
export function writeSpec(file, { name, numJobs, job, numActions = 0, action, resourceRequirements }) {
  const fd = openSync(file, 'w');
  let buf = '';
  const put = (s) => {
    buf += s;
    if (buf.length > 1 << 20) {
      writeSync(fd, buf);
      buf = '';
    }
  };
  try {
    put(`{"name":${JSON.stringify(name)}`);
    if (resourceRequirements) put(`,"resource_requirements":${JSON.stringify(resourceRequirements)}`);
    put(',"jobs":[');
    for (let i = 0; i < numJobs; i++) put((i ? ',' : '') + JSON.stringify(job(i)));
    put(']');
    if (numActions > 0) {
      put(',"actions":[');
      for (let k = 0; k < numActions; k++) put((k ? ',' : '') + JSON.stringify(action(k)));
      put(']');
    }
    put('}\n');
    writeSync(fd, buf);
  } finally {
    closeSync(fd);
  }
  return file;
}

export const jobName = (i) => `j${i}`;

/** A plain job; `deps` are job indexes. */
export const jobSpec = (i, command, deps = []) =>
  deps.length ? { name: jobName(i), command, depends_on: deps.map(jobName) } : { name: jobName(i), command };

/** An on_jobs_complete action running `commands` once the jobs with these indexes are done. */
export const onJobsCompleteAction = (jobIndexes, commands) => ({
  trigger_type: 'on_jobs_complete',
  action_type: 'run_commands',
  jobs: jobIndexes.map(jobName),
  commands,
});

/** N independent jobs (a parameter sweep). */
export function writeIndependentJobsSpec(file, numJobs, command = 'true', extra = {}) {
  return writeSpec(file, { name: 'bench-sweep', numJobs, job: (i) => jobSpec(i, command), ...extra });
}

/**
 * The creation benchmark's shape: numJobs jobs in stages of `width`, each job depending on the
 * job `width` before it; the jobs of the second stage also depend on a neighbour in the first,
 * so there are exactly numJobs dependencies (numJobs >= 2 * width). numActions on_jobs_complete
 * actions each watch an equal slice of the jobs.
 */
export function writeStagedSpec(file, { numJobs, width = 1000, numActions = 0 }) {
  if (numJobs < 2 * width) throw new Error(`staged spec: ${numJobs} jobs < 2 x width ${width}`);
  const per = Math.ceil(numJobs / Math.max(1, numActions));
  return writeSpec(file, {
    name: 'bench-staged',
    numJobs,
    job: (i) => {
      if (i < width) return jobSpec(i, `echo ${i}`);
      if (i < 2 * width) return jobSpec(i, `echo ${i}`, [i - width, (i - width + 1) % width]);
      return jobSpec(i, `echo ${i}`, [i - width]);
    },
    numActions,
    action: (k) => {
      const idx = [];
      for (let i = k * per; i < Math.min(numJobs, (k + 1) * per); i++) idx.push(i);
      return onJobsCompleteAction(idx, [`echo action ${k}`]);
    },
  });
}
