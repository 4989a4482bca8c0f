/**
 * Runs tasks one at a time, in arrival order. The engine funnels every PUT,
 * DELETE, GET and reconcile pass through one queue, because each of them
 * computes the whole node's desired state: two running at once would each
 * apply a set missing the other's change.
 */
export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();
  private queued = 0;

  /** True when no task is running or waiting. */
  get idle(): boolean {
    return this.queued === 0;
  }

  run<T>(task: () => Promise<T>): Promise<T> {
    this.queued++;
    const result = this.tail.then(task).finally(() => this.queued--);
    // The next task waits for this one whether it succeeded or not.
    this.tail = result.catch(() => undefined);
    return result;
  }
}
