/**
 * Keys ordered by expiry time (a binary min-heap). A key scheduled twice
 * keeps both slots; the caller checks, when a slot comes due, whether the
 * key still expires at that time, so a refresh costs one push and no search.
 */
export class ExpiryQueue {
  private readonly heap: { readonly at: number; readonly key: string }[] = [];

  get size(): number {
    return this.heap.length;
  }

  push(at: number, key: string): void {
    const heap = this.heap;
    heap.push({ at, key });
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (heap[parent].at <= heap[i].at) break;
      [heap[parent], heap[i]] = [heap[i], heap[parent]];
      i = parent;
    }
  }

  /** The earliest scheduled time, if any. */
  peek(): number | undefined {
    return this.heap[0]?.at;
  }

  /** Removes and returns every slot due at or before `now`, earliest first. */
  popDue(now: number): { at: number; key: string }[] {
    const due: { at: number; key: string }[] = [];
    while (this.heap.length > 0 && this.heap[0].at <= now) due.push(this.popMin());
    return due;
  }

  clear(): void {
    this.heap.length = 0;
  }

  private popMin(): { at: number; key: string } {
    const heap = this.heap;
    const top = heap[0];
    const last = heap.pop() as { at: number; key: string };
    if (heap.length === 0) return top;
    heap[0] = last;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let smallest = i;
      if (left < heap.length && heap[left].at < heap[smallest].at) smallest = left;
      if (right < heap.length && heap[right].at < heap[smallest].at) smallest = right;
      if (smallest === i) return top;
      [heap[smallest], heap[i]] = [heap[i], heap[smallest]];
      i = smallest;
    }
  }
}
