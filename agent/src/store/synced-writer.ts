import { Worker } from "node:worker_threads";

/**
 * Writes and fsyncs files on a thread of their own. The promise API's write
 * is a chain of requests (open, write, sync, close), and each step starts
 * only at a turn of the event loop, which a PUT of a large program holds
 * for hundreds of milliseconds: the file a PUT stages early was written only
 * after the kernel, and its fsync added ~30-45 ms to every 100k-entry PUT.
 * Here the whole write runs on the worker while the API thread parses,
 * checks and programs the kernel; only the answer waits for the loop.
 */
export class SyncedWriter {
  private worker?: Worker;
  private nextId = 0;
  private readonly pending = new Map<number, { resolve: () => void; reject: (error: Error) => void }>();

  /** Creates or truncates `file` (mode 0600), writes `bytes` and fsyncs it before resolving. */
  write(file: string, bytes: Uint8Array): Promise<void> {
    const id = this.nextId++;
    const worker = this.started();
    return new Promise<void>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      worker.ref();
      worker.postMessage({ id, file, bytes });
    });
  }

  /** Ends the thread; writes still pending are refused. */
  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    this.failAll(new Error("the file writer was closed"));
    await worker?.terminate();
  }

  private started(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(WORKER_SOURCE, { eval: true });
    worker.unref();
    worker.on("message", (reply: { id: number; error?: string }) => {
      const waiting = this.pending.get(reply.id);
      this.pending.delete(reply.id);
      if (this.pending.size === 0) worker.unref();
      if (!waiting) return;
      if (reply.error === undefined) waiting.resolve();
      else waiting.reject(new Error(reply.error));
    });
    // A thread that died takes its writes with it; the next write starts another.
    const lost = (error: Error) => {
      if (this.worker === worker) this.worker = undefined;
      this.failAll(error);
    };
    worker.on("error", lost);
    worker.on("exit", (code) => lost(new Error(`the file writer thread exited with code ${code}`)));
    this.worker = worker;
    return worker;
  }

  private failAll(error: Error): void {
    const waiting = [...this.pending.values()];
    this.pending.clear();
    for (const w of waiting) w.reject(error);
  }
}

/** Plain JavaScript, so the thread needs no loader; a failed write is reported with the system's message. */
const WORKER_SOURCE = `
const { parentPort } = require("node:worker_threads");
const fs = require("node:fs");
parentPort.on("message", ({ id, file, bytes }) => {
  let fd;
  try {
    fd = fs.openSync(file, "w", 0o600);
    for (let at = 0; at < bytes.length; ) at += fs.writeSync(fd, bytes, at, bytes.length - at);
    fs.fsyncSync(fd);
    parentPort.postMessage({ id });
  } catch (error) {
    parentPort.postMessage({ id, error: error.message });
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
});
`;
