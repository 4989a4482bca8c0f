import { chmod, lstat, unlink } from "node:fs/promises";
import { createServer, type Server, type Socket } from "node:net";
import type { Engine } from "../../../sdk/schema/dpi-sensor";
import { EventLineReader, type LineParser } from "../../../sdk/events";
import { silentLogger, type Logger } from "../log";
import type { EventSink, IngestSource, IngestSourceStats } from "./ingest-source";
import { DeliveryStopped, OrderedDelivery, type OrderedDeliveryOptions } from "./ordered-delivery";
import { SourceCounters } from "./source-counters";

/** A unix stream socket the agent creates at `path`, or a TCP port. */
export type ListenAddress =
  { readonly path: string; readonly mode?: number } | { readonly host: string; readonly port: number };

export interface StreamListenerSourceOptions {
  readonly name: string;
  readonly engine: Engine;
  readonly listen: ListenAddress;
  readonly parse: LineParser;
  readonly sink: EventSink;
  /** @default silent */
  readonly log?: Logger;
  /** Writers connected at once; more are refused, which bounds memory. @default 8 */
  readonly maxConnections?: number;
  /** Longer lines are skipped and counted as `line-too-long`. @default 1 MiB */
  readonly maxLineBytes?: number;
  readonly delivery?: OrderedDeliveryOptions;
}

/**
 * Newline-delimited JSON written to a socket the agent listens on (Suricata's
 * EVE `unix_stream` output, nProbe's JSON export over TCP). Each connection
 * is read one chunk at a time and the next chunk is read only after the sink
 * took the last one, so a slow sink fills the socket buffers and the writer
 * blocks: memory stays bounded. A stream cannot be replayed, so there is no
 * offset to save; a writer that reconnects goes on where it is.
 */
export class StreamListenerSource implements IngestSource {
  readonly name: string;
  private readonly counters: SourceCounters;
  private readonly delivery: OrderedDelivery;
  private readonly log: Logger;
  private server: Server | undefined;
  private readonly connections = new Map<Socket, Promise<void>>();
  private stopping = false;

  constructor(private readonly options: StreamListenerSourceOptions) {
    this.name = options.name;
    this.log = options.log ?? silentLogger;
    this.counters = new SourceCounters(options.name, options.engine);
    this.delivery = new OrderedDelivery(options.sink, this.counters, this.log, options.delivery);
  }

  /** The bound TCP port (useful with port 0), once started. */
  get port(): number | undefined {
    const address = this.server?.address();
    return typeof address === "object" && address !== null ? address.port : undefined;
  }

  async start(): Promise<void> {
    if (this.server) return;
    this.stopping = false;
    const listen = this.options.listen;
    if ("path" in listen) await removeStaleSocket(listen.path);
    const server = createServer((socket) => this.accept(socket));
    server.maxConnections = this.options.maxConnections ?? 8;
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      const listening = () => {
        server.off("error", reject);
        resolve();
      };
      if ("path" in listen) server.listen(listen.path, listening);
      else server.listen(listen.port, listen.host, listening);
    });
    server.on("error", (error) => {
      this.counters.lastError = `listen: ${error.message}`;
      this.log.error("ingest: listener failed", { source: this.name, error });
    });
    if ("path" in listen && listen.mode !== undefined) await chmod(listen.path, listen.mode);
    this.server = server;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.stopping = true;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    this.delivery.stop();
    // The batch in flight reaches the sink; what is still in the socket is the writer's to resend.
    await this.delivery.idle();
    for (const socket of this.connections.keys()) socket.destroy();
    await Promise.all(this.connections.values());
    await closed;
    if ("path" in this.options.listen) await unlink(this.options.listen.path).catch(() => undefined);
    this.server = undefined;
  }

  stats(): IngestSourceStats {
    return this.counters.snapshot();
  }

  private accept(socket: Socket): void {
    if (this.stopping) {
      socket.destroy();
      return;
    }
    this.counters.connections++;
    const reading = this.read(socket).finally(() => this.connections.delete(socket));
    this.connections.set(socket, reading);
  }

  private async read(socket: Socket): Promise<void> {
    const reader = new EventLineReader(this.options.parse, {
      maxLineBytes: this.options.maxLineBytes,
      stats: this.counters.lines,
    });
    try {
      for await (const chunk of socket) {
        const bytes = chunk as Buffer;
        this.counters.bytes += bytes.length;
        await this.delivery.deliver(reader.push(bytes));
        if (this.stopping) break;
      }
      // The writer closed cleanly: its last line may lack the newline.
      if (!this.stopping) await this.delivery.deliver(reader.end());
    } catch (error) {
      if (error instanceof DeliveryStopped || this.stopping) return;
      this.counters.lastError = `connection: ${(error as Error).message}`;
      this.log.warn("ingest: connection failed", { source: this.name, error });
    } finally {
      socket.destroy();
    }
  }
}

/** A socket file left by an earlier run would make listen fail with EADDRINUSE; anything else at the path is not ours to remove. */
async function removeStaleSocket(path: string): Promise<void> {
  try {
    const st = await lstat(path);
    if (!st.isSocket()) throw new Error(`${path}: exists and is not a socket; refusing to replace it`);
    await unlink(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
}
