import type { AgentConfig } from "./config";
import type { Reconciler } from "./reconcile/reconciler";

/**
 * The kernel reconcilers this agent drives, one per subsystem. A subsystem
 * left out here is refused (422) for programs that need it rather than
 * silently not programmed.
 */
export function kernelReconcilers(_config: AgentConfig): Reconciler[] {
  return [];
}
