import type { DpiEvent, ParseResult } from "../../../sdk/events";
import type { Logger } from "../log";
import type { EventSink } from "./ingest-source";
import type { SourceCounters } from "./source-counters";

/** Thrown to a source's reader when it stops while a batch is still refused by the sink. */
export class DeliveryStopped extends Error {
  constructor() {
    super("source stopped before the sink accepted the batch");
  }
}

export interface OrderedDeliveryOptions {
  /**
   * First wait before retrying a batch the sink rejected; doubles up to retryMaxMs.
   * @default 100
   */
  readonly retryInitialMs?: number;
  /** @default 5000 */
  readonly retryMaxMs?: number;
}

/**
 * One source's way into its sink: batches go one at a time, in the order they
 * were handed over, even when several readers (one per file or connection)
 * feed the same source. A batch the sink rejects is retried with backoff until
 * it is accepted or the source stops, so the caller saves an offset only for
 * lines the sink really took.
 */
export class OrderedDelivery {
  private tail: Promise<void> = Promise.resolve();
  private stopping = false;
  private wakeRetry: (() => void) | undefined;
  private readonly retryInitialMs: number;
  private readonly retryMaxMs: number;

  constructor(
    private readonly sink: EventSink,
    private readonly counters: SourceCounters,
    private readonly log: Logger,
    options: OrderedDeliveryOptions = {},
  ) {
    this.retryInitialMs = options.retryInitialMs ?? 100;
    this.retryMaxMs = options.retryMaxMs ?? 5000;
  }

  /**
   * Delivers the events among `results` after every batch handed over before;
   * resolves when the sink has accepted them (at once when there are none).
   * Rejects with DeliveryStopped when the source stops first.
   */
  deliver(results: readonly ParseResult[]): Promise<void> {
    const events: DpiEvent[] = [];
    for (const result of results) if (result.ok) events.push(result.event);
    const turn = this.tail.then(() => (events.length === 0 ? undefined : this.deliverWithRetry(events)));
    // The next batch waits for this one whatever its outcome.
    this.tail = turn.catch(() => undefined);
    return turn;
  }

  /** No more retries: a batch still refused rejects with DeliveryStopped. */
  stop(): void {
    this.stopping = true;
    this.wakeRetry?.();
  }

  /** Resolves when every batch handed over so far has settled. */
  async idle(): Promise<void> {
    await this.tail;
  }

  private async deliverWithRetry(events: DpiEvent[]): Promise<void> {
    let waitMs = this.retryInitialMs;
    for (;;) {
      try {
        await this.sink(events);
        this.counters.events += events.length;
        this.counters.batches++;
        return;
      } catch (error) {
        this.counters.sinkErrors++;
        this.counters.lastError = `sink: ${(error as Error).message}`;
        this.log.warn("ingest sink rejected a batch; retrying", {
          source: this.counters.source,
          events: events.length,
          retryInMs: waitMs,
          error,
        });
      }
      if (this.stopping) throw new DeliveryStopped();
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, waitMs);
        this.wakeRetry = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wakeRetry = undefined;
      if (this.stopping) throw new DeliveryStopped();
      waitMs = Math.min(waitMs * 2, this.retryMaxMs);
    }
  }
}
