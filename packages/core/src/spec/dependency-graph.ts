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
