import type { AgentConfig } from "./config";
import { execRunner } from "./kernel/command";
import { IpReconciler } from "./reconcile/ip-reconciler";
import { NftablesReconciler } from "./reconcile/nftables-reconciler";
import type { Reconciler } from "./reconcile/reconciler";
import { TcReconciler } from "./reconcile/tc-reconciler";

/**
 * The kernel reconcilers this agent drives, one per subsystem. A subsystem
 * left out here is refused (422) for programs that need it rather than
 * silently not programmed: BPF maps join once their reconciler exists.
 */
export function kernelReconcilers(_config: AgentConfig): Reconciler[] {
  // The agent runs in the node's (or the lab router's) namespace; tools act where it runs.
  const runner = execRunner();
  return [
    // Blocks and application control: one nft transaction per change.
    new NftablesReconciler(runner),
    // HTB trees per uplink: one tc batch per device.
    new TcReconciler({ runner }),
    // Mark -> uplink table rules and each table's default route.
    new IpReconciler(runner),
  ];
}
