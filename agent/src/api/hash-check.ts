import { extname, join } from "node:path";
import { Worker } from "node:worker_threads";
import type { HashVerdict } from "../engine/reconcile-engine";

/** A body sent to the worker; `body` arrives as a Uint8Array copy. */
export interface HashRequest {
  readonly id: number;
  readonly body: Uint8Array;
}

/** The worker's answer: whether the body's program hash matches, undefined when the body is not a valid program. */
export interface HashAnswer {
  readonly id: number;
  readonly matches: boolean | undefined;
}

interface Waiting {
  resolve(matches: boolean): void;
  reject(error: Error): void;
}

/** The worker from source (.ts, run through tsx or ts-jest) or from the build (.js). */
function startWorker(): Worker {
  const entry = join(__dirname, `hash-check-worker${extname(__filename)}`);
  if (extname(entry) !== ".ts") return new Worker(entry);
  // A worker does not inherit the TypeScript loader the source is run with.
  const tsx = JSON.stringify(require.resolve("tsx/cjs"));
  return new Worker(`require(${tsx}); require(${JSON.stringify(entry)});`, { eval: true });
}

/**
 * Checks PUT bodies' hashes on a worker thread: hashing a 100k-entry program
 * takes as long as merging it, so the API thread parses, validates, reads the
 * kernel and merges while the worker hashes (the engine writes nothing before
 * the verdict). One worker serves every request in turn; it is started at
 * once, so its start-up is not paid by the first PUT, and started again after
 * it died. A verdict rejects when the worker cannot give one; the engine then
 * hashes the program itself.
 */
export class HashCheck {
  private worker?: Worker;
  private readonly waiting = new Map<number, Waiting>();
  private next = 0;
  private closed = false;

  constructor() {
    this.worker = this.start();
  }

  /** The verdict on the hash of the program `body` holds (a body the server has yet to parse and validate). */
  check(body: Buffer): HashVerdict {
    if (this.closed) return Promise.reject(new Error("the hash check is closed"));
    const id = this.next++;
    const verdict = new Promise<boolean>((resolve, reject) => this.waiting.set(id, { resolve, reject }));
    // The server may refuse the body before it asks for the verdict.
    verdict.catch(() => undefined);
    this.worker ??= this.start();
    const request: HashRequest = { id, body };
    this.worker.postMessage(request);
    return verdict;
  }

  async close(): Promise<void> {
    this.closed = true;
    const worker = this.worker;
    this.worker = undefined;
    this.fail(new Error("the hash check is closed"));
    await worker?.terminate();
  }

  private start(): Worker {
    const worker = startWorker();
    // Idle between PUTs; it must not keep the process alive.
    worker.unref();
    worker.on("message", ({ id, matches }: HashAnswer) => {
      const waiting = this.waiting.get(id);
      this.waiting.delete(id);
      if (matches === undefined) waiting?.reject(new Error("the worker found no valid program in the body"));
      else waiting?.resolve(matches);
    });
    const lost = (error: Error) => {
      if (this.worker === worker) this.worker = undefined;
      this.fail(error);
    };
    worker.on("error", lost);
    worker.on("exit", (code) => lost(new Error(`the hash check worker exited (${code})`)));
    return worker;
  }

  private fail(error: Error): void {
    for (const waiting of this.waiting.values()) waiting.reject(error);
    this.waiting.clear();
  }
}
