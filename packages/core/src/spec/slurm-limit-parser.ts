/**
 * What an allocation from a Slurm scheduler is certain to be limited to, read from the sbatch
 * options Sluice writes for it (slurm_defaults, then the scheduler's own fields, then `extra`).
 * Each limit is null unless the options settle it: an option that could raise it, or text that
 * does not parse, leaves it open, since a job is refused only when it certainly never fits.
 */
import type { ResolvedSlurmScheduler } from './resolved-workflow.js';

/** One limit, and how the spec said it, for the message. */
export interface SlurmLimit {
  value: number;
  said: string;
}

export interface SlurmLimits {
  /** seconds; null: no limit (UNLIMITED, 0, absent) or not settled */
  walltimeSeconds: SlurmLimit | null;
  nodes: SlurmLimit | null;
  memoryBytesPerNode: SlurmLimit | null;
  gpusPerNode: SlurmLimit | null;
  cpusPerNode: SlurmLimit | null;
}

const SHORT_OPTIONS: Record<string, string> = {
  t: 'time',
  N: 'nodes',
  c: 'cpus-per-task',
  n: 'ntasks',
  G: 'gpus',
  w: 'nodelist',
  B: 'extra-node-info',
  O: 'overcommit',
};
const SHORT_WITH_VALUE = new Set(['t', 'N', 'c', 'n', 'G', 'w', 'B']);
/** long options whose value may follow as the next word (`--time 10`) */
const LONG_WITH_VALUE = new Set([
  'time',
  'nodes',
  'mem',
  'mem-per-cpu',
  'mem-per-gpu',
  'gres',
  'gpus',
  'gpus-per-node',
  'gpus-per-task',
  'gpus-per-socket',
  'cpus-per-task',
  'cpus-per-gpu',
  'ntasks',
  'ntasks-per-node',
  'ntasks-per-core',
  'ntasks-per-socket',
  'ntasks-per-gpu',
  'mincpus',
  'nodelist',
]);

/** Options that can give a node more CPUs than ntasks-per-node x cpus-per-task says. */
const OPEN_CPUS = [
  'exclusive',
  'mincpus',
  'cpus-per-gpu',
  'ntasks',
  'ntasks-per-core',
  'ntasks-per-socket',
  'ntasks-per-gpu',
  'sockets-per-node',
  'cores-per-socket',
  'threads-per-core',
  'extra-node-info',
  'hint',
  'overcommit',
  'mem-per-cpu',
];
/** Options that can spread an allocation without --nodes over more than one node. */
const OPEN_NODES = ['ntasks', 'nodelist', 'gpus', 'ntasks-per-gpu', 'ntasks-per-socket', 'ntasks-per-core'];
const OPEN_MEMORY = ['mem-per-cpu', 'mem-per-gpu'];
const OPEN_GPUS = ['gpus', 'gpus-per-task', 'gpus-per-socket'];

/** Every value each sbatch option is given, in the order sbatch reads them. */
type Options = Map<string, string[]>;

function add(options: Options, key: string, value: string): void {
  const values = options.get(key);
  if (values) values.push(value);
  else options.set(key, [value]);
}

/** The options in `extra`, as sbatch would read them from one #SBATCH line. */
function extraOptions(extra: string, options: Options): void {
  const words = extra.split(/\s+/).filter(Boolean);
  for (let i = 0; i < words.length; i++) {
    const word = words[i] as string;
    const long = /^--([A-Za-z][A-Za-z0-9-]*)(?:=(.*))?$/.exec(word);
    if (long) {
      const key = long[1] as string;
      const next = words[i + 1];
      if (long[2] !== undefined) add(options, key, long[2]);
      else if (LONG_WITH_VALUE.has(key) && next !== undefined) add(options, key, words[++i] as string);
      else add(options, key, '');
      continue;
    }
    const short = /^-([A-Za-z])(.*)$/.exec(word);
    if (!short) continue;
    const letter = short[1] as string;
    const key = SHORT_OPTIONS[letter] ?? `-${letter}`;
    if (short[2]) add(options, key, short[2].replace(/^=/, ''));
    else if (SHORT_WITH_VALUE.has(letter) && words[i + 1] !== undefined) add(options, key, words[++i] as string);
    else add(options, key, '');
  }
}

function optionsOf(s: ResolvedSlurmScheduler, defaults: Readonly<Record<string, unknown>>): Options {
  const options: Options = new Map();
  for (const [key, value] of Object.entries(defaults)) add(options, key.replace(/_/g, '-'), String(value));
  const own: [string, string | number | null][] = [
    ['time', s.walltime],
    ['nodes', s.nodes],
    ['mem', s.mem],
    ['gres', s.gres],
    ['ntasks-per-node', s.ntasksPerNode],
  ];
  for (const [key, value] of own) if (value !== null) add(options, key, String(value));
  if (s.extra) extraOptions(s.extra, options);
  return options;
}

/**
 * Seconds in a Slurm time limit: MM, MM:SS, HH:MM:SS, D-HH, D-HH:MM, D-HH:MM:SS. null for no
 * limit (UNLIMITED, INFINITE, 0); undefined for text Slurm would not take.
 */
export function slurmWalltimeSeconds(text: string): number | null | undefined {
  const t = text.trim();
  if (/^(UNLIMITED|INFINITE|-1)$/i.test(t)) return null;
  const withDays = /^(\d+)-(\d+)(?::(\d+))?(?::(\d+))?$/.exec(t);
  let seconds: number;
  if (withDays) {
    const [, d, h, m, s] = withDays.map(Number) as number[];
    seconds = (d as number) * 86_400 + (h as number) * 3600 + (m || 0) * 60 + (s || 0);
  } else if (/^\d+(:\d+){0,2}$/.test(t)) {
    const parts = t.split(':').map(Number) as number[];
    if (parts.length === 1) seconds = (parts[0] as number) * 60;
    else if (parts.length === 2) seconds = (parts[0] as number) * 60 + (parts[1] as number);
    else seconds = (parts[0] as number) * 3600 + (parts[1] as number) * 60 + (parts[2] as number);
  } else return undefined;
  return seconds === 0 ? null : seconds;
}

/** Bytes in a Slurm memory size (--mem): a number of megabytes, or one with a K, M, G or T suffix. 0 (the whole node) is null. */
export function slurmMemoryBytes(text: string): number | null | undefined {
  const m = /^(\d+)\s*([KMGT]?)B?$/i.exec(text.trim());
  if (!m) return undefined;
  const exponent = { '': 2, K: 1, M: 2, G: 3, T: 4 }[(m[2] as string).toUpperCase()] as number;
  const bytes = Number(m[1]) * 1024 ** exponent;
  return bytes === 0 ? null : bytes;
}

/**
 * GPUs per node in a gres list (`gpu`, `gpu:4`, `gpu:a100:2`, `gpu:2,nvme:1`); 0 when it names
 * none, undefined when a GPU entry's count cannot be read.
 */
export function gresGpus(text: string): number | undefined {
  let gpus = 0;
  for (const entry of text.split(',').map((e) => e.trim())) {
    const parts = entry.replace(/\(.*\)$/, '').split(':');
    if (parts[0] !== 'gpu') continue;
    if (parts.length === 1) gpus += 1;
    else {
      const last = parts[parts.length - 1] as string;
      if (/^\d+$/.test(last)) gpus += Number(last);
      else if (parts.length === 2) gpus += 1;
      else return undefined;
    }
  }
  return gpus;
}

/** The largest of the values an option was given, each read by `read`; null if any is open. */
function largest(values: readonly string[], read: (text: string) => number | null | undefined): number | null {
  let most = 0;
  for (const value of values) {
    const n = read(value);
    if (n === null || n === undefined) return null;
    most = Math.max(most, n);
  }
  return most;
}

const count = (text: string) => (/^\d+$/.test(text.trim()) ? Number(text) : undefined);
/** `--nodes=2` or `--nodes=1-4`: the most nodes Slurm may give. */
const nodeCount = (text: string) => {
  const m = /^(\d+)(?:-(\d+))?$/.exec(text.trim());
  return m ? Number(m[2] ?? m[1]) : undefined;
};
/** `--gpus-per-node=2` or `--gpus-per-node=a100:2`. */
const typedCount = (text: string) => count(text.split(':').pop() as string);

/**
 * The limits (per node, except walltime and nodes) of an allocation from this scheduler. When
 * an option is given more than once (the scheduler's field and again in extra), which one sbatch
 * keeps does not matter: the largest value is the limit.
 */
export function slurmLimits(s: ResolvedSlurmScheduler, defaults: Readonly<Record<string, unknown>>): SlurmLimits {
  const options = optionsOf(s, defaults);
  const has = (keys: readonly string[]) => keys.some((k) => options.has(k));
  const said = (key: string, label = key) => (options.get(key) ?? []).map((v) => `${label} ${v}`).join(', ');
  const limit = (value: number | null, text: string): SlurmLimit | null =>
    value === null ? null : { value, said: text };

  const times = options.get('time');
  const walltime = times ? limit(largest(times, slurmWalltimeSeconds), said('time', 'walltime')) : null;

  const nodesGiven = options.get('nodes');
  const nodes = nodesGiven
    ? limit(largest(nodesGiven, nodeCount), said('nodes'))
    : has(OPEN_NODES)
      ? null
      : { value: 1, said: 'nodes 1 (the default)' };

  const mems = options.get('mem');
  const memory = mems && !has(OPEN_MEMORY) ? limit(largest(mems, slurmMemoryBytes), `${said('mem')} per node`) : null;

  let gpus: SlurmLimit | null = null;
  if (!has(OPEN_GPUS) && (options.has('gres') || options.has('gpus-per-node'))) {
    const fromGres = options.has('gres') ? largest(options.get('gres') as string[], gresGpus) : 0;
    const perNode = options.has('gpus-per-node') ? largest(options.get('gpus-per-node') as string[], typedCount) : 0;
    const text = [said('gres'), said('gpus-per-node')].filter(Boolean).join(', ');
    // Both forms at once: Slurm may add them up, so their sum is what is certain.
    gpus = fromGres === null || perNode === null ? null : limit(fromGres + perNode, text);
    // A gres list that names no GPU says nothing for certain about GPUs.
    if (gpus?.value === 0) gpus = null;
  }

  // Cpus only when the scheduler says how many each task gets: ntasks_per_node alone is a task
  // layout (MPI ranks), and a site that allocates whole nodes gives each node all its cpus
  // anyway (torc's own examples pair ntasks_per_node 1 with 4-cpu jobs).
  let cpus: SlurmLimit | null = null;
  const tasks = options.get('ntasks-per-node');
  const perTask = options.get('cpus-per-task');
  if (perTask && !has(OPEN_CPUS)) {
    const t = tasks ? largest(tasks, count) : 1;
    const c = perTask ? largest(perTask, count) : 1;
    const text = [said('ntasks-per-node', 'ntasks_per_node'), said('cpus-per-task')].filter(Boolean).join(', ');
    cpus = t === null || c === null ? null : limit(t * c, text);
  }
  return { walltimeSeconds: walltime, nodes, memoryBytesPerNode: memory, gpusPerNode: gpus, cpusPerNode: cpus };
}
