/** A level-triggered wake-up: a signal that arrives while nobody waits is kept for the next wait. */
export class Wakeup {
  private pending = false;
  private resolve: (() => void) | null = null;

  signal(): void {
    if (this.resolve) {
      const r = this.resolve;
      this.resolve = null;
      r();
    } else {
      this.pending = true;
    }
  }

  /** Resolves on the next signal (true) or after timeoutMs (false), whichever comes first. */
  wait(timeoutMs: number): Promise<boolean> {
    if (this.pending) {
      this.pending = false;
      return Promise.resolve(true);
    }
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.resolve = null;
        resolve(false);
      }, timeoutMs);
      this.resolve = () => {
        clearTimeout(timer);
        resolve(true);
      };
    });
  }
}
