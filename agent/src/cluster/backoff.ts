/**
 * Exponential backoff with jitter: attempt n waits a random time between half
 * and all of min(max, initial * 2^n), so nodes that lost etcd together do not
 * all come back in the same instant.
 */
export class Backoff {
  private attempt = 0;

  constructor(
    private readonly initialMs: number,
    private readonly maxMs: number,
    private readonly random: () => number = Math.random,
  ) {}

  next(): number {
    const ceiling = Math.min(this.maxMs, this.initialMs * 2 ** Math.min(this.attempt, 30));
    this.attempt++;
    return Math.round(ceiling * (0.5 + 0.5 * this.random()));
  }

  reset(): void {
    this.attempt = 0;
  }
}
