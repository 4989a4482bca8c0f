import { existsSync } from "node:fs";
import { join } from "node:path";
import { PROGRAMS } from "../../../sdk/abi/constants";
import type { AgentConfig } from "../config";
import type { Logger } from "../log";
import { MapsReconciler } from "../reconcile/maps-reconciler";
import { DataPlane } from "./loader";
import { nativeBpf } from "./native";
import { DEFAULT_OFFLOAD_LEASE_MS, keepOffloadLease } from "./offload-lease";
import { PinnedPolicyMaps } from "./policy-map-store";
import { RuntimeMaps } from "./runtime-maps";

/** How long an offloaded flow's route lookup is reused: a route or neighbour change reaches it within this. */
export const DEFAULT_NEXTHOP_CACHE_MS = 1000;

export interface StartedDataPlane {
  readonly plane: DataPlane;
  /** The runtime writers (blocks, flow verdicts, destinations) for the rest of the agent. */
  readonly runtime: RuntimeMaps;
  readonly reconciler: MapsReconciler;
  /** Stops renewing the offload lease; programs and maps stay in place. */
  stop(): void;
}

/**
 * Loads (or adopts) and attaches the eBPF programs, starts the offload lease
 * and returns the maps reconciler, when the config enables eBPF; when
 * `bpf.enabled` is unset, when the objects are installed. Without it the
 * agent refuses programs that need maps (422) instead of dropping them.
 */
export function startDataPlane(config: AgentConfig, log: Logger): StartedDataPlane | undefined {
  const { enabled, objectsDir, pinRoot } = config.bpf;
  const absent = Object.values(PROGRAMS)
    .map((p) => join(objectsDir, p.object))
    .filter((f) => !existsSync(f));
  if (enabled === false || (enabled === undefined && absent.length > 0)) {
    log.warn("eBPF data plane off: programs with map entries or spec.config are refused", {
      reason: enabled === false ? "bpf.enabled is false" : `missing ${absent.join(", ")}`,
    });
    return undefined;
  }
  if (absent.length > 0) throw new Error(`bpf.objectsDir: missing ${absent.join(", ")}`);
  const bpf = nativeBpf();
  const plane = DataPlane.start(bpf, {
    pinRoot,
    objectsDir,
    stateDir: config.stateDir,
    lan: config.interfaces.lan,
    uplinks: Object.values(config.interfaces.uplinks),
    log,
  });
  const runtime = RuntimeMaps.open(bpf, pinRoot);
  runtime.setNexthopTtl(BigInt(config.bpf.nexthopCache ?? DEFAULT_NEXTHOP_CACHE_MS) * 1_000_000n);
  const lease = keepOffloadLease(runtime, config.bpf.offloadLease ?? DEFAULT_OFFLOAD_LEASE_MS, log);
  const reconciler = new MapsReconciler({
    store: PinnedPolicyMaps.open(bpf, pinRoot),
    ifindex: (name) => bpf.ifIndex(name),
    attachments: plane,
  });
  return { plane, runtime, reconciler, stop: lease.stop };
}
