import { readFileSync } from "node:fs";
import { hostname } from "node:os";
import { parseArgs } from "node:util";
import { AgentClient } from "../../../sdk/agent-api/client";
import { validateKind } from "../../../sdk/schema/documents";
import { ValidationError } from "../../../sdk/schema/problem";
import type { Site } from "../../../sdk/schema/site";
import { duration } from "../../../sdk/schema/quantities";
import { jsonLogger, type Logger, type LogLevel } from "../log";
import { PolicyController } from "./controller";
import { inClusterEndpoint, KubernetesApi } from "../kubernetes/api";
import { LeaderLease } from "./leader-lease";

/** Environment variable holding the agent token (from the agent token Secret). */
export const CONTROLLER_TOKEN_ENV = "FOS1_AGENT_TOKEN";

export const controllerUsage =
  "fos1-dpi-controller --site FILE --lease-namespace NS [--lease-name NAME] [--agent-ca FILE] [--resync 60s] [--log-level info]";

export interface ControllerArgs {
  readonly site: string;
  readonly leaseNamespace: string;
  readonly leaseName: string;
  /** PEM of the CA that signed the agents' certificates; absent: the system CAs. */
  readonly agentCa?: string;
  readonly resyncMs: number;
  readonly logLevel: LogLevel;
}

/** The command line, validated: every problem is an Error naming the option. */
export function parseControllerArgs(argv: readonly string[]): ControllerArgs {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      site: { type: "string" },
      "lease-namespace": { type: "string" },
      "lease-name": { type: "string", default: "fos1-dpi-controller" },
      "agent-ca": { type: "string" },
      resync: { type: "string", default: "60s" },
      "log-level": { type: "string", default: "info" },
    },
  });
  if (!values.site) throw new Error(`--site is required\nusage: ${controllerUsage}`);
  if (!values["lease-namespace"]) throw new Error(`--lease-namespace is required\nusage: ${controllerUsage}`);
  const resync = duration.safeParse(values.resync);
  if (!resync.success) throw new Error(`--resync: ${resync.error.issues[0].message}`);
  const levels = ["debug", "info", "warn", "error"];
  if (!levels.includes(values["log-level"]!)) throw new Error(`--log-level: one of ${levels.join(", ")}`);
  return {
    site: values.site,
    leaseNamespace: values["lease-namespace"],
    leaseName: values["lease-name"]!,
    ...(values["agent-ca"] ? { agentCa: values["agent-ca"] } : {}),
    resyncMs: resync.data,
    logLevel: values["log-level"] as LogLevel,
  };
}

/** The site document the controller compiles for (the site ConfigMap's JSON, or YAML-free JSON of a Site). */
export function loadSite(file: string): Site {
  const result = validateKind("Site", JSON.parse(readFileSync(file, "utf8")));
  if (!result.ok)
    throw new ValidationError(
      result.problems.map((p) => ({ ...p, file })),
      "site",
    );
  return result.value;
}

/**
 * Runs the controller in its pod until SIGTERM: waits to lead, then
 * reconciles the policy resources. Losing the lease ends the process (exit 1)
 * so Kubernetes restarts it as a candidate, never as a second leader.
 */
export async function runController(
  argv: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  const args = parseControllerArgs(argv);
  const log = jsonLogger(args.logLevel);
  const token = env[CONTROLLER_TOKEN_ENV];
  if (!token) throw new Error(`${CONTROLLER_TOKEN_ENV} is not set: the agent token is required`);
  const site = loadSite(args.site);
  const ca = args.agentCa ? readFileSync(args.agentCa, "utf8") : undefined;
  const api = new KubernetesApi(inClusterEndpoint(env));

  const stop = new AbortController();
  process.once("SIGTERM", () => stop.abort());
  process.once("SIGINT", () => stop.abort());
  const lease = new LeaderLease(api, args.leaseNamespace, args.leaseName, env.HOSTNAME ?? hostname());
  const controller = new PolicyController({
    api,
    log,
    resyncMs: args.resyncMs,
    context: {
      site,
      agentFor: (node) => new AgentClient({ url: node.agent.url, token, ca, timeoutMs: 15_000 }),
    },
  });
  const outcome = await whileLeading({
    lease,
    log,
    signal: stop.signal,
    lead: (signal) => {
      log.info("leading", { site: site.metadata.name, nodes: site.spec.nodes.map((n) => n.name) });
      return controller.run(signal);
    },
  });
  return outcome === "lost" ? 1 : 0;
}

export interface LeadOptions {
  readonly lease: LeaderLease;
  readonly log: Logger;
  /** Aborted to stop (SIGTERM). */
  readonly signal: AbortSignal;
  /** Runs while this replica leads, until its signal aborts. */
  readonly lead: (signal: AbortSignal) => Promise<void>;
  /** Wait between attempts to take the lease. @default 2000 */
  readonly retryMs?: number;
}

/**
 * Waits to hold the lease, then runs `lead` while it is held. Resolves
 * "stopped" when `signal` aborted, or "lost" once the lease could not be
 * renewed in time; `lead` has ended either way.
 */
export async function whileLeading(options: LeadOptions): Promise<"stopped" | "lost"> {
  const { lease, log, signal } = options;
  log.info("waiting to lead", { lease: lease.describe(), identity: lease.identity });
  await lease.acquire(signal, options.retryMs);
  if (signal.aborted) return "stopped";
  const leading = new AbortController();
  let lost = false;
  const stopLeading = () => leading.abort();
  signal.addEventListener("abort", stopLeading, { once: true });
  lease.keep(leading.signal, () => {
    lost = true;
    log.error("lost the lease; stopping so another replica can lead");
    leading.abort();
  });
  try {
    await options.lead(leading.signal);
  } finally {
    signal.removeEventListener("abort", stopLeading);
    leading.abort();
  }
  return lost ? "lost" : "stopped";
}
