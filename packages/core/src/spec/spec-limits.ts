/**
 * The limits a spec must stay within, and the one walk over the parsed data that enforces those
 * no schema can: NUL characters, unpaired surrogates and nesting depth. Each limit exists so that
 * a spec fails here, with a line naming the place, instead of later in PostgreSQL (text cannot
 * hold NUL, jsonb refuses unpaired surrogates and deep nesting, b-tree index entries are capped
 * at about 2.7 kB) or in the loader itself (memory, call stack).
 */
import type { SpecPath, SpecReporter } from './spec-error.js';

/**
 * Largest spec file or text accepted: 256 MiB. V8 cannot hold a string much over 512 Mi UTF-16
 * units, and parsing needs several times the text's size in memory.
 */
export const MAX_SPEC_BYTES = 256 * 1024 * 1024;

/** Names are unique-indexed in PostgreSQL: 512 characters stay under the index entry limit even at 4 bytes each. */
export const MAX_NAME_LENGTH = 512;
export const MAX_REGEX_LENGTH = 4096;
/** command, invocation_script, recovery_script and each action command. */
export const MAX_SCRIPT_LENGTH = 1024 * 1024;
/** PATH_MAX on Linux. */
export const MAX_PATH_LENGTH = 4096;

/** PostgreSQL int4. */
export const MAX_INT4 = 2_147_483_647;
/** num_cpus, num_gpus, num_nodes, nodes, ntasks_per_node, max_parallel_jobs: far above any machine. */
export const MAX_RESOURCE_COUNT = 1_048_576;
/** Allocations one schedule_nodes action submits: Slurm's default MaxJobCount. */
export const MAX_ALLOCATIONS = 10_000;
export const MAX_RETRIES = 10_000;
export const MAX_SAMPLE_INTERVAL_SECONDS = 3600;
/** About 100 years; runtimes are whole seconds. */
export const MAX_RUNTIME_SECONDS = 36_500 * 86_400;

/** Nesting of mappings and lists anywhere in a spec, user_data and metadata included. */
export const MAX_NESTING = 64;

export const NUL_PROBLEM = 'contains a NUL character, which PostgreSQL text cannot store';
const SURROGATE_PROBLEM = 'contains an unpaired UTF-16 surrogate, which is not valid Unicode';

/** The problem with a string's characters, or undefined when it has none. */
export function characterProblem(text: string): string | undefined {
  if (text.includes('\0')) return NUL_PROBLEM;
  // String.prototype.isWellFormed is in Node 20 but not in the ES2022 lib the build targets.
  if (!(text as unknown as { isWellFormed(): boolean }).isWellFormed()) return SURROGATE_PROBLEM;
  return undefined;
}

interface Container {
  value: object;
  key: string | number;
  parent: Container | null;
  depth: number;
}

function pathOf(container: Container | null, last?: string | number): SpecPath {
  const path: (string | number)[] = last === undefined ? [] : [last];
  for (let c = container; c?.parent; c = c.parent) path.unshift(c.key);
  return path;
}

/**
 * Walks every string, key and container of the parsed spec once, iteratively (the call stack
 * cannot be trusted with user nesting), and refuses the first NUL, unpaired surrogate or
 * nesting deeper than MAX_NESTING. Only containers are queued, and paths are built only for
 * the error, so that 100k-job specs cost one small object per mapping or list.
 */
export function checkPlainData(root: unknown, reporter: SpecReporter): void {
  if (root === null || typeof root !== 'object') return;
  const stack: Container[] = [{ value: root, key: '', parent: null, depth: 0 }];
  for (;;) {
    const container = stack.pop();
    if (!container) return;
    if (container.depth >= MAX_NESTING) {
      throw reporter.error('SPEC_INVALID', pathOf(container), `nesting is deeper than ${MAX_NESTING} levels`);
    }
    const visit = (child: unknown, key: string | number) => {
      if (typeof child === 'string') {
        const problem = characterProblem(child);
        if (problem) throw reporter.error('SPEC_INVALID', pathOf(container, key), problem);
      } else if (child !== null && typeof child === 'object') {
        stack.push({ value: child, key, parent: container, depth: container.depth + 1 });
      }
    };
    const { value } = container;
    if (Array.isArray(value)) {
      for (let i = value.length - 1; i >= 0; i--) visit(value[i], i);
      continue;
    }
    const keys = Object.keys(value);
    for (let i = keys.length - 1; i >= 0; i--) {
      const key = keys[i] as string;
      const problem = characterProblem(key);
      if (problem) throw reporter.error('SPEC_INVALID', pathOf(container, key), `key ${problem}`, 'key');
      visit((value as Record<string, unknown>)[key], key);
    }
  }
}
