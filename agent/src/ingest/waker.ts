/**
 * A sleep that a file-system event can cut short. A wake that comes while
 * nobody waits is remembered, so a change between "read found nothing" and
 * "wait" is never slept through.
 */
export class Waker {
  private woken = false;
  private release: (() => void) | undefined;

  wake(): void {
    this.woken = true;
    this.release?.();
  }

  /** Resolves after `ms`, or at once on a wake since the last wait. */
  async wait(ms: number): Promise<void> {
    if (!this.woken) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, ms);
        this.release = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.release = undefined;
    }
    this.woken = false;
  }
}
