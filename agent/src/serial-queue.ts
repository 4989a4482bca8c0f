/**
 * Runs tasks one at a time, in arrival order. The engine funnels every PUT,
 * DELETE, GET and reconcile pass through one queue, because each of them
 * computes the whole node's desired state: two running at once would each
 * apply a set missing the other's change.
 */
export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();
  private waiting = 0;

  run<T>(task: () => Promise<T>): Promise<T> {
    this.waiting += 1;
    const result = this.tail.then(task);
    this.tail = result.then(
      () => (this.waiting -= 1),
      () => (this.waiting -= 1),
    );
    return result;
  }

  /** Tasks queued or running. */
  get length(): number {
    return this.waiting;
  }
}
