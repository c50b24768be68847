import { type JobReferences, NO_ENTRIES, type Reference } from './command-references.js';
import type { JobInstance } from './job-expander.js';
import { type Catalog, entryPath, type JobContext, lookup, matchEntry } from './name-catalog.js';
import type { SpecReporter } from './spec-error.js';

/**
 * One dependency cycle in a graph where dependsOn[j] lists the jobs j waits for, as job indices
 * in order (each waits for the next, the last for the first) starting at the lowest index, or
 * null when there is none. Depth-first with an explicit stack: specs may chain 100k jobs, far
 * deeper than the call stack allows.
 */
export function findCycle(dependsOn: readonly (readonly number[])[]): number[] | null {
  const NEW = 0;
  const ON_PATH = 1;
  const DONE = 2;
  const state = new Uint8Array(dependsOn.length);
  const path: number[] = [];
  const nextEdge: number[] = [];
  for (let root = 0; root < dependsOn.length; root++) {
    if (state[root] !== NEW) continue;
    state[root] = ON_PATH;
    path.push(root);
    nextEdge.push(0);
    while (path.length > 0) {
      const top = path.length - 1;
      const node = path[top] as number;
      const edges = dependsOn[node] as readonly number[];
      const edge = nextEdge[top] as number;
      if (edge === edges.length) {
        state[node] = DONE;
        path.pop();
        nextEdge.pop();
        continue;
      }
      nextEdge[top] = edge + 1;
      const next = edges[edge] as number;
      if (state[next] === ON_PATH) return startAtLowest(path.slice(path.lastIndexOf(next)));
      if (state[next] === NEW) {
        state[next] = ON_PATH;
        path.push(next);
        nextEdge.push(0);
      }
    }
  }
  return null;
}

function startAtLowest(cycle: number[]): number[] {
  const start = cycle.reduce((lowest, job, i) => (job < (cycle[lowest] as number) ? i : lowest), 0);
  return [...cycle.slice(start), ...cycle.slice(0, start)];
}

/** Job indices in ascending order, each once: the form ResolvedWorkflow keeps index lists in. */
export function sortedUnique(indices: readonly number[]): number[] {
  const sorted = indices.length < 2 ? [...indices] : [...indices].sort((a, b) => a - b);
  let kept = 0;
  for (let i = 0; i < sorted.length; i++) {
    if (i === 0 || sorted[i] !== sorted[i - 1]) sorted[kept++] = sorted[i] as number;
  }
  sorted.length = kept;
  return sorted;
}

/**
 * Each job's dependencies as sorted job indices: the jobs it names or matches, and the jobs
 * that write the files and user_data it reads.
 */
export function resolveDependencies(
  jobs: readonly JobInstance[],
  references: readonly JobReferences[],
  jobCatalog: Catalog,
  context: JobContext,
): number[][] {
  const fileWriters = writersOf(jobs, references, 'outputFiles', context.fileCatalog, context.reporter);
  const userDataWriters = writersOf(jobs, references, 'outputUserData', context.userDataCatalog, context.reporter);
  return jobs.map((job, j) => {
    const deps: number[] = [];
    const names = job.lists.depends_on ?? NO_ENTRIES;
    for (let at = 0; at < names.length; at++) deps.push(lookup(jobCatalog, job, 'depends_on', at, context));
    const regexes = job.lists.depends_on_regexes ?? NO_ENTRIES;
    for (let at = 0; at < regexes.length; at++) {
      for (const index of matchEntry(jobCatalog, job, 'depends_on_regexes', at, context)) deps.push(index);
    }
    const refs = references[j] as JobReferences;
    addWriters(deps, j, refs.inputFiles, fileWriters);
    addWriters(deps, j, refs.inputUserData, userDataWriters);
    return sortedUnique(deps);
  });
}

function addWriters(deps: number[], job: number, reads: readonly Reference[], writers: Int32Array): void {
  for (const ref of reads) {
    const writer = writers[ref.index] as number;
    // Reading what the job itself writes is an update in place, not a wait on itself.
    if (writer !== -1 && writer !== job) deps.push(writer);
  }
}

/** The job that writes each file or user_data entry (-1: none); two writers are an error. */
function writersOf(
  jobs: readonly JobInstance[],
  references: readonly JobReferences[],
  list: 'outputFiles' | 'outputUserData',
  target: Catalog,
  reporter: SpecReporter,
): Int32Array {
  const writers = new Int32Array(target.byName.size).fill(-1);
  for (const [j, refs] of references.entries()) {
    for (const ref of refs[list]) {
      const writer = writers[ref.index] as number;
      if (writer !== -1 && writer !== j) {
        const other = jobs[writer] as JobInstance;
        const job = jobs[j] as JobInstance;
        throw reporter.error(
          'SPEC_INVALID',
          entryPath(job, ref.key, ref.at),
          `${target.noun} "${target.matcher.nameAt(ref.index)}" is written by two jobs: "${other.name}" (${reporter.describePlace(['jobs', other.specIndex])}) and "${job.name}"`,
        );
      }
      writers[ref.index] = j;
    }
  }
  return writers;
}
