import { retryWithBackoff } from '../retry.js';
import { firstLine, type SbatchOutcome, type SlurmClient, type SubmitPolicy } from './slurm-client.js';

/** What the submission of one allocation came to; every outcome is final (the caller records it). */
export type SubmitOutcome =
  /** Slurm has the job; `note` says how it was found when sbatch did not say so itself */
  | { kind: 'submitted'; jobId: string; note: string | null }
  /** sbatch may well have created a job, but which one cannot be told: never submit again */
  | { kind: 'unknown'; message: string }
  /** Slurm refused the job, or kept failing; the message is sbatch's complaint */
  | { kind: 'failed'; message: string };

/** Who the allocation is to Slurm: the job name it is submitted with and its own comment. */
export interface AllocationIdentity {
  jobName: string;
  comment: string;
}

export interface SubmitRequest {
  script: string;
  env: NodeJS.ProcessEnv;
  identity: AllocationIdentity;
  /** aborted: no further try (a last look-up still runs when the job may exist) */
  signal?: AbortSignal;
  log?: (msg: string) => void;
}

export const DEFAULT_SUBMIT_POLICY: SubmitPolicy = { attempts: 5, initialDelayMs: 2_000, maxDelayMs: 30_000 };

const MAX_MESSAGE = 500;

/**
 * Failures that Slurm's documentation and sbatch's source give as the controller being busy or
 * unreachable. The first ones may happen after the controller took the job (the reply was lost):
 * before another try, the job is looked up.
 */
const MAYBE_CREATED = [
  /Socket timed out on send\/recv operation/i,
  /Zero Bytes were transmitted or received/i,
  /Transport endpoint is not connected/i,
];
const NOT_CREATED = [
  /Unable to contact slurm controller/i,
  /temporarily unable to accept job/i,
  /Resource temporarily unavailable/i,
  /job queue (is )?full/i,
  /Job creation temporarily disabled/i,
];

const SUBMITTED = /Submitted batch job (\d+)/;
const PARSABLE = /^(\d+)(?:;\S+)?$/;

/**
 * The job id sbatch printed: `Submitted batch job N` (its output without --parsable) on any line,
 * else the last line that is `N` or `N;cluster` (a site wrapper may print a banner first).
 */
export function parseSbatchJobId(stdout: string): string | null {
  const lines = stdout
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  for (const line of lines) {
    const m = SUBMITTED.exec(line);
    if (m) return m[1] as string;
  }
  for (const line of lines.reverse()) {
    const m = PARSABLE.exec(line);
    if (m) return m[1] as string;
  }
  return null;
}

type Failure = 'maybe-created' | 'transient' | 'permanent';

function classify(r: SbatchOutcome): Failure {
  if (r.timedOut) return 'maybe-created';
  const text = `${r.stderr}\n${r.stdout}`;
  if (MAYBE_CREATED.some((p) => p.test(text))) return 'maybe-created';
  if (NOT_CREATED.some((p) => p.test(text))) return 'transient';
  return 'permanent';
}

const cap = (s: string) => (s.length > MAX_MESSAGE ? `${s.slice(0, MAX_MESSAGE - 3)}...` : s);

function complaint(r: SbatchOutcome): string {
  if (r.timedOut) return 'sbatch did not answer in time and was killed';
  return cap(firstLine(r.stderr || r.stdout) || `sbatch exited with ${r.code}`);
}

/** Thrown inside the retry loop; `final` ends it. */
class Attempt extends Error {
  constructor(
    message: string,
    readonly failure: Failure,
  ) {
    super(message);
  }
}

/**
 * Submits one allocation. Never submits again once sbatch exited 0: an id it printed is used, one
 * it did not print is looked up, and otherwise the allocation is unknown. Failures that Slurm
 * documents as transient are retried with backoff; after one that may have created the job (a
 * timeout), the job is looked up by its name and comment before sbatch runs again. Anything else
 * fails at once with sbatch's message.
 */
export async function submitAllocation(slurm: SlurmClient, req: SubmitRequest): Promise<SubmitOutcome> {
  const policy = slurm.submitPolicy ?? DEFAULT_SUBMIT_POLICY;
  const { jobName, comment } = req.identity;
  let last: Attempt | null = null;
  /** what the last sbatch said: the message of a final failure, whatever a look-up said since */
  let sbatchSaid = '';
  /** set when a try may have created the job: the next one looks before it submits */
  let mayExist = false;

  const lookUp = async (): Promise<string | null> => {
    try {
      return await slurm.findJob(jobName, comment, req.env);
    } catch (e) {
      last = new Attempt(e instanceof Error ? e.message : String(e), 'maybe-created');
      throw last;
    }
  };

  try {
    return await retryWithBackoff<SubmitOutcome>(
      async () => {
        if (mayExist) {
          const found = await lookUp();
          if (found) return { kind: 'submitted', jobId: found, note: `${sbatchSaid}; Slurm had created job ${found}` };
          mayExist = false;
        }
        const r = await slurm.sbatch(req.script, req.env);
        const printed = r.code === 0 || r.timedOut ? parseSbatchJobId(r.stdout) : null;
        if (printed) return { kind: 'submitted', jobId: printed, note: null };
        if (r.code === 0 && !r.timedOut) return await exitedWithoutId(r, lookUp);
        const failure = classify(r);
        if (failure === 'maybe-created') mayExist = true;
        sbatchSaid = complaint(r);
        last = new Attempt(sbatchSaid, failure);
        throw last;
      },
      {
        attempts: policy.attempts,
        initialDelayMs: policy.initialDelayMs,
        maxDelayMs: policy.maxDelayMs,
        shouldStop: () => last?.failure === 'permanent' || req.signal?.aborted === true,
        onRetry: (e, delay, attempt) =>
          req.log?.(
            `sbatch try ${attempt} failed (${e instanceof Error ? e.message : String(e)}); trying again in ${delay} ms`,
          ),
      },
    );
  } catch (e) {
    const message = sbatchSaid || (e instanceof Error ? e.message : String(e));
    if (!mayExist) return { kind: 'failed', message };
    // The last try may have created the job: one more look before saying what became of it.
    const found = await slurm.findJob(jobName, comment, req.env).catch(() => undefined);
    if (found) return { kind: 'submitted', jobId: found, note: `${message}; Slurm had created job ${found}` };
    if (found === null) return { kind: 'failed', message };
    return {
      kind: 'unknown',
      message: cap(`${message}, and squeue could not tell whether Slurm created job ${jobName} (${comment})`),
    };
  }
}

async function exitedWithoutId(r: SbatchOutcome, lookUp: () => Promise<string | null>): Promise<SubmitOutcome> {
  const output = firstLine(`${r.stdout}\n${r.stderr}`);
  const found = await lookUp().catch(() => null);
  if (found)
    return { kind: 'submitted', jobId: found, note: `sbatch printed no job id; Slurm had created job ${found}` };
  return {
    kind: 'unknown',
    message: cap(`sbatch exited 0 but printed no job id Sluice could read: ${output || '(no output)'}`),
  };
}
