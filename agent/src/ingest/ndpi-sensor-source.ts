import { spawn, type ChildProcessByStdio } from "node:child_process";
import type { Readable } from "node:stream";
import { EventLineReader, parseNdpiRecord } from "../../../sdk/events";
import { silentLogger, type Logger } from "../log";
import type { EventSink, IngestSource, IngestSourceStats } from "./ingest-source";
import { DeliveryStopped, OrderedDelivery, type OrderedDeliveryOptions } from "./ordered-delivery";
import { SourceCounters } from "./source-counters";

export interface NdpiSensorSourceOptions {
  readonly name: string;
  /** The fos1-ndpi-sensor binary. */
  readonly binary: string;
  /** Capture interface (`-i`). */
  readonly iface: string;
  /** More sensor arguments (`--idle-timeout 30`). @default none */
  readonly args?: readonly string[];
  /** A command the sensor runs under, for a capture interface in another network namespace (`["ip", "netns", "exec", "lab"]`). @default none */
  readonly launcher?: readonly string[];
  readonly sink: EventSink;
  /** @default silent */
  readonly log?: Logger;
  /** First wait before restarting a sensor that died; doubles up to restartMaxMs. @default 200 */
  readonly restartInitialMs?: number;
  /** @default 10000 */
  readonly restartMaxMs?: number;
  /** A sensor that ran this long before dying restarts after restartInitialMs again. @default 30000 */
  readonly stableAfterMs?: number;
  /** After SIGTERM, how long the sensor has to print its flow ends and exit before SIGKILL. @default 5000 */
  readonly stopTimeoutMs?: number;
  /** Longer lines are skipped and counted as `line-too-long`. @default 1 MiB */
  readonly maxLineBytes?: number;
  readonly delivery?: OrderedDeliveryOptions;
}

type SensorProcess = ChildProcessByStdio<null, Readable, Readable>;

interface SpawnedSensor {
  readonly child: SensorProcess;
  /** Resolves once the process runs; rejects when it cannot be started. */
  readonly spawned: Promise<void>;
  /** Settles when its output is delivered and it has exited. */
  readonly done: Promise<void>;
}

/** Bytes of the sensor's stderr kept to say why it died. */
const STDERR_TAIL_BYTES = 2048;

/**
 * The nDPI sensor as the agent's child: `fos1-ndpi-sensor -i IFACE`, one JSON
 * line per classified flow and per flow end on stdout. Its stdout is read one
 * chunk at a time after the sink took the last (the pipe fills and the sensor
 * waits: back-pressure). A sensor that dies is restarted with exponential
 * backoff; stop() sends SIGTERM, delivers the flow ends the sensor prints on
 * the way out, and kills it if it does not exit in time.
 */
export class NdpiSensorSource implements IngestSource {
  readonly name: string;
  private readonly counters: SourceCounters;
  private readonly delivery: OrderedDelivery;
  private readonly log: Logger;
  private child: SensorProcess | undefined;
  private running: Promise<void> | undefined;
  private stopping = false;
  private wakeBackoff: (() => void) | undefined;

  constructor(private readonly options: NdpiSensorSourceOptions) {
    this.name = options.name;
    this.log = options.log ?? silentLogger;
    this.counters = new SourceCounters(options.name, "ndpi");
    this.delivery = new OrderedDelivery(options.sink, this.counters, this.log, options.delivery);
  }

  /** The running sensor's process id, if one runs. */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  async start(): Promise<void> {
    if (this.running) return;
    this.stopping = false;
    const first = this.spawnSensor();
    await first.spawned;
    this.running = this.supervise(first);
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.stopping = true;
    this.wakeBackoff?.();
    const child = this.child;
    if (child && child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      const killer = setTimeout(() => child.kill("SIGKILL"), this.options.stopTimeoutMs ?? 5000);
      await this.running;
      clearTimeout(killer);
    } else {
      await this.running;
    }
    this.delivery.stop();
    this.running = undefined;
  }

  stats(): IngestSourceStats {
    return this.counters.snapshot();
  }

  private async supervise(first: SpawnedSensor): Promise<void> {
    const initialMs = this.options.restartInitialMs ?? 200;
    const maxMs = this.options.restartMaxMs ?? 10_000;
    const stableAfterMs = this.options.stableAfterMs ?? 30_000;
    let waitMs = initialMs;
    let current = first;
    for (;;) {
      const startedAt = Date.now();
      await current.done;
      if (this.stopping) return;
      this.counters.restarts++;
      if (Date.now() - startedAt >= stableAfterMs) waitMs = initialMs;
      this.log.warn("ingest: nDPI sensor exited; restarting", {
        source: this.name,
        restartInMs: waitMs,
        lastError: this.counters.lastError,
      });
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, waitMs);
        this.wakeBackoff = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wakeBackoff = undefined;
      if (this.stopping) return;
      waitMs = Math.min(waitMs * 2, maxMs);
      current = this.spawnSensor();
      await current.spawned.catch(() => undefined);
    }
  }

  /** Starts one sensor process. */
  private spawnSensor(): SpawnedSensor {
    const [command, ...args] = [
      ...(this.options.launcher ?? []),
      this.options.binary,
      "-i",
      this.options.iface,
      ...(this.options.args ?? []),
    ];
    const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] });
    this.child = child;
    let stderrTail = "";
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (text: string) => {
      stderrTail = (stderrTail + text).slice(-STDERR_TAIL_BYTES);
    });
    const spawned = new Promise<void>((resolve, reject) => {
      child.once("spawn", resolve);
      child.once("error", reject);
    });
    const exited = new Promise<string>((resolve) => {
      child.once("error", (error) => resolve(`spawn ${command}: ${error.message}`));
      child.once("close", (code, signal) => resolve(signal ? `killed by ${signal}` : `exit status ${code}`));
    });
    const done = (async () => {
      await this.readOutput(child);
      const how = await exited;
      const lastLine = stderrTail.trim().split("\n").pop() ?? "";
      if (!this.stopping)
        this.counters.lastError = `fos1-ndpi-sensor ${how}${lastLine ? `: ${lastLine}` : ""}`;
      if (this.child === child) this.child = undefined;
    })();
    return { child, spawned, done };
  }

  private async readOutput(child: SensorProcess): Promise<void> {
    const reader = new EventLineReader(parseNdpiRecord, {
      maxLineBytes: this.options.maxLineBytes,
      stats: this.counters.lines,
    });
    try {
      for await (const chunk of child.stdout) {
        const bytes = chunk as Buffer;
        this.counters.bytes += bytes.length;
        await this.delivery.deliver(reader.push(bytes));
      }
      await this.delivery.deliver(reader.end());
    } catch (error) {
      if (error instanceof DeliveryStopped) return;
      this.counters.lastError = `reading the sensor's output: ${(error as Error).message}`;
      child.kill("SIGKILL");
    }
  }
}
