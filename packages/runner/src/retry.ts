export interface RetryOptions {
  /** most tries in all; unbounded when absent (then giveUpAfterMs or shouldStop end it) */
  attempts?: number;
  /** stop retrying once the first failure is this old */
  giveUpAfterMs?: number;
  initialDelayMs?: number;
  maxDelayMs?: number;
  /** told about each failure that will be retried, with the delay before the next try */
  onRetry?: (error: unknown, delayMs: number, attempt: number) => void;
  /** checked before each retry: true ends the retries with the last error */
  shouldStop?: (attempt: number) => boolean;
  /** which errors are worth another try (default: all) */
  retryIf?: (error: unknown) => boolean;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Runs fn until it succeeds, waiting twice as long after each failure (from initialDelayMs, up to
 * maxDelayMs). The one retry loop of the runner: database calls through an outage, result and
 * action writes, sbatch submissions.
 */
export async function retryWithBackoff<T>(fn: (attempt: number) => Promise<T>, o: RetryOptions = {}): Promise<T> {
  let delay = o.initialDelayMs ?? 100;
  const maxDelay = o.maxDelayMs ?? 5_000;
  let firstFailure: number | null = null;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (e) {
      firstFailure ??= Date.now();
      const exhausted =
        o.retryIf?.(e) === false ||
        (o.attempts !== undefined && attempt >= o.attempts) ||
        (o.giveUpAfterMs !== undefined && Date.now() - firstFailure >= o.giveUpAfterMs) ||
        o.shouldStop?.(attempt) === true;
      if (exhausted) throw e;
      o.onRetry?.(e, delay, attempt);
      await sleep(delay);
      delay = Math.min(delay * 2, maxDelay);
    }
  }
}

/** p, or a rejection with `message` once the clock passes `deadline` (ms since the epoch). */
export async function withDeadline<T>(p: Promise<T>, deadline: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(message)), Math.max(0, deadline - Date.now()));
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
