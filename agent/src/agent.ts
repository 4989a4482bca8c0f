import { readFileSync } from "node:fs";
import { rm } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { createAgentServer } from "./api/server";
import { loadAgentConfig, readToken, type AgentConfig } from "./config";
import { ReconcileEngine, type ProgramPersistence } from "./engine/reconcile-engine";
import { jsonLogger, type Logger } from "./log";
import { kernelParts } from "./main";
import { AgentMetrics } from "./metrics";
import { startReconcileLoop } from "./reconcile-loop";
import type { Reconciler } from "./reconcile/reconciler";
import { AgentRuntime } from "./runtime/agent-runtime";
import type { VerdictMaps } from "./runtime/verdict-maps";
import { ProgramStore } from "./store/program-store";
import { agentVersion } from "./version";

/** What a started agent offers its owner (the process entry, or a test). */
export interface RunningAgent {
  /** `https://address:port` the API listens on (the real port when the config asked for port 0), or `unix:PATH`. */
  readonly url: string;
  readonly engine: ReconcileEngine;
  readonly runtime: AgentRuntime;
  readonly metrics: AgentMetrics;
  /** Stops the loop (letting a running pass end) and the server. Kernel state is left in place. */
  stop(): Promise<void>;
}

export interface AgentDependencies {
  /** @default the kernel reconcilers of main.ts */
  readonly reconcilers?: readonly Reconciler[];
  /** With `reconcilers`: the runtime maps verdicts go to. @default none (with the default reconcilers: the data plane's) */
  readonly runtimeMaps?: VerdictMaps;
  /** @default a ProgramStore under config.stateDir */
  readonly store?: ProgramPersistence;
  /** @default JSON lines on stdout at config.logLevel */
  readonly log?: Logger;
  /** @default a registry with the process metrics */
  readonly metrics?: AgentMetrics;
}

/**
 * Starts the agent: loads the stored programs, listens (probes answer at once;
 * the program routes answer 503 until the stored programs are re-applied),
 * then re-applies them and keeps repairing drift every reconcile interval.
 */
export async function startAgent(config: AgentConfig, deps: AgentDependencies = {}): Promise<RunningAgent> {
  const log = deps.log ?? jsonLogger(config.logLevel);
  const metrics = deps.metrics ?? new AgentMetrics().withProcessMetrics();
  const token = readToken(config.tokenFile);
  const tls = { cert: readFileSync(config.tls.certFile), key: readFileSync(config.tls.keyFile) };
  const kernel = deps.reconcilers ? undefined : kernelParts(config, log);
  const ownStore = deps.store ? undefined : new ProgramStore(config.stateDir);
  const engine = new ReconcileEngine({
    reconcilers: deps.reconcilers ?? kernel!.reconcilers,
    store: deps.store ?? ownStore!,
    facts: { node: config.node, interfaces: config.interfaces },
    metrics,
    log,
  });
  await engine.restore();
  const runtime = await AgentRuntime.start({
    node: config.node,
    stateDir: config.stateDir,
    ingest: config.ingest,
    ...(config.cluster ? { cluster: config.cluster } : {}),
    programs: engine,
    maps: deps.runtimeMaps ?? kernel?.runtimeMaps,
    metrics,
    log,
  });

  const server = createAgentServer({
    engine,
    token,
    tls,
    maxBodyBytes: config.maxBodyBytes,
    metrics,
    log,
    node: config.node,
    version: agentVersion(),
    runtime: runtime.view,
  });
  const socket = config.listen.socket;
  // A socket file left by a killed agent would make listen fail with EADDRINUSE.
  if (socket) await rm(socket, { force: true });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    const listening = () => {
      server.off("error", reject);
      resolve();
    };
    if (socket) server.listen(socket, listening);
    else server.listen(config.listen.port, config.listen.address, listening);
  });
  const url = socket ? `unix:${socket}` : tcpUrl(server.address() as AddressInfo);
  log.info("listening", { url, node: config.node, subsystems: [...engine.wired] });

  const loop = startReconcileLoop(engine, config.reconcileInterval, log);
  return {
    url,
    engine,
    runtime,
    metrics,
    async stop() {
      await loop.stop();
      await runtime.stop();
      kernel?.stop();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await ownStore?.close();
    },
  };
}

function tcpUrl({ address, port }: AddressInfo): string {
  return `https://${address.includes(":") ? `[${address}]` : address}:${port}`;
}

/** The process entry: runs the agent of a config file until SIGTERM or SIGINT; resolves to the exit status. */
export async function runAgent(options: { readonly configFile: string }): Promise<number> {
  const config = loadAgentConfig(options.configFile);
  const agent = await startAgent(config);
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once("SIGTERM", resolve);
    process.once("SIGINT", resolve);
  });
  jsonLogger(config.logLevel).info("stopping", { signal });
  await agent.stop();
  return 0;
}
