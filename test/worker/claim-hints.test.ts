// The worker loop's rule for when to claim (packages/runner/src/worker/claim-hints.ts), on its
// own: the worker tests count the claims a real worker makes along a chain
// (worker-process.test.ts), this says which hint each one answers.
import { describe, expect, it } from 'vitest';
import { ClaimHints } from '../../packages/runner/src/worker/claim-hints.js';
import { Wakeup } from '../../packages/runner/src/worker/wakeup.js';

/** A claim whose reply the test sends. */
function claimInFlight(hints: ClaimHints) {
  let reply: () => void = () => {};
  const done = hints.claiming(() => new Promise<void>((resolve) => (reply = resolve)));
  return { done, reply: () => reply() };
}

async function woken(wake: Wakeup): Promise<boolean> {
  return wake.wait(1);
}

describe('claim hints', () => {
  it('a new worker claims first; a claim covers the hints before it', async () => {
    const wake = new Wakeup();
    const hints = new ClaimHints(wake);
    expect(hints.pending).toBe(true);
    await hints.claiming(async () => {});
    expect(hints.pending).toBe(false);
    hints.add();
    expect(hints.pending).toBe(true);
  });

  it('a completion batch sent wakes the loop, and the claim sent behind it covers its reply', async () => {
    const wake = new Wakeup();
    const hints = new ClaimHints(wake);
    await hints.claiming(async () => {});
    await woken(wake);

    const issuedAt = hints.now();
    hints.issued();
    expect(hints.pending).toBe(true);
    expect(await woken(wake)).toBe(true);

    // The loop claims at once; the batch's reply comes first (one connection, in order).
    const claim = claimInFlight(hints);
    expect(hints.pending).toBe(false);
    hints.recorded(issuedAt);
    expect(hints.pending).toBe(false);
    expect(await woken(wake)).toBe(false);
    claim.reply();
    await claim.done;
    expect(hints.pending).toBe(false);
  });

  it('a batch recorded after the claims sent before it ended is a hint of its own', async () => {
    const wake = new Wakeup();
    const hints = new ClaimHints(wake);
    // A claim sent before the batch, still in flight when the batch is recorded: it ran first.
    const early = claimInFlight(hints);
    const issuedAt = hints.now();
    hints.recorded(issuedAt);
    expect(hints.pending).toBe(true);
    early.reply();
    await early.done;
    expect(hints.pending).toBe(true);

    // No claim in flight at all when the batch is recorded.
    await hints.claiming(async () => {});
    const later = hints.now();
    hints.recorded(later);
    expect(hints.pending).toBe(true);
  });

  it('a hint during a step waits for the check after it instead of waking the loop', async () => {
    const wake = new Wakeup();
    const hints = new ClaimHints(wake);
    await hints.claiming(async () => {});
    hints.stepping = true;
    hints.issued();
    hints.stepping = false;
    expect(hints.pending).toBe(true);
    expect(await woken(wake)).toBe(false);
  });
});
