import { extname, join } from "node:path";
import { Worker } from "node:worker_threads";
import type { HashVerdict } from "../engine/reconcile-engine";

/** A body sent to the worker; `body` arrives as a Uint8Array copy. */
export interface HashRequest {
  readonly id: number;
  readonly body: Uint8Array;
}

/**
 * The worker's messages: that it has loaded and takes bodies, and per body
 * whether its program's hash matches (undefined when it is not a valid program).
 */
export type HashAnswer =
  { readonly ready: true } | { readonly id: number; readonly matches: boolean | undefined };

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
 * the verdict). One worker serves the requests; it is started at once, and
 * again after it died. A body goes to it only when it has loaded and has
 * nothing else to do: the engine does not wait behind a worker that is
 * starting or busy, it hashes the program itself, as it does when a verdict
 * rejects (the worker died).
 */
export class HashCheck {
  private worker?: Worker;
  private ready = false;
  private readonly waiting = new Map<number, Waiting>();
  private next = 0;
  private closed = false;

  constructor() {
    this.worker = this.start();
  }

  /**
   * The verdict on the hash of the program `body` holds (a body the server
   * has yet to parse and validate). A body the worker cannot take at once is
   * not sent: the engine hashes it, and the worker would only take CPU from it.
   */
  check(body: Buffer): HashVerdict {
    const underway = !this.closed && this.ready && this.waiting.size === 0;
    const id = this.next++;
    const matches = new Promise<boolean>((resolve, reject) => {
      if (underway) this.waiting.set(id, { resolve, reject });
      else reject(new Error(this.closed ? "the hash check is closed" : "the hash check worker is not free"));
    });
    // The server may refuse the body before the verdict is asked for.
    matches.catch(() => undefined);
    if (underway) {
      const request: HashRequest = { id, body };
      this.worker!.postMessage(request);
    } else if (!this.closed) this.worker ??= this.start();
    return { matches, underway: () => underway };
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
    worker.on("message", (answer: HashAnswer) => {
      if ("ready" in answer) {
        if (this.worker === worker) this.ready = true;
        return;
      }
      const waiting = this.waiting.get(answer.id);
      this.waiting.delete(answer.id);
      if (answer.matches === undefined)
        waiting?.reject(new Error("the worker found no valid program in the body"));
      else waiting?.resolve(answer.matches);
    });
    const lost = (error: Error) => {
      if (this.worker === worker) {
        this.worker = undefined;
        this.ready = false;
      }
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
