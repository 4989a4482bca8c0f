import type { Logger } from "../log";
import { monotonicNs, type RuntimeMaps } from "./runtime-maps";

/** @default lease when the config sets none: long enough to ride out a GC pause, short enough to fail safe. */
export const DEFAULT_OFFLOAD_LEASE_MS = 15_000;

/**
 * Holds the offload lease while the agent lives: `offload_lease_until_ns` is
 * set `leaseMs` ahead and renewed three times per lease. A crashed agent
 * stops renewing, and once the lease runs out the programs send every
 * offloaded flow back to inspection by themselves.
 */
export function keepOffloadLease(
  maps: Pick<RuntimeMaps, "setOffloadLease">,
  leaseMs: number,
  log: Logger,
): { stop(): void } {
  const renew = () => {
    try {
      maps.setOffloadLease(monotonicNs() + BigInt(leaseMs) * 1_000_000n);
    } catch (error) {
      log.error("renewing the offload lease failed", { error });
    }
  };
  renew();
  const timer = setInterval(renew, Math.max(50, Math.floor(leaseMs / 3)));
  // The lease must not keep a stopping process alive; it ends with the process.
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
