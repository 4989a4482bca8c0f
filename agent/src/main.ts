import type { AgentConfig } from "./config";
import { startDataPlane } from "./bpf/start-data-plane";
import { execRunner } from "./kernel/command";
import { jsonLogger } from "./log";
import { IpReconciler } from "./reconcile/ip-reconciler";
import { NftablesReconciler } from "./reconcile/nftables-reconciler";
import type { Reconciler } from "./reconcile/reconciler";
import { TcReconciler } from "./reconcile/tc-reconciler";

/**
 * The kernel reconcilers this agent drives, one per subsystem. A subsystem
 * left out here is refused (422) for programs that need it rather than
 * silently not programmed: BPF maps only when the eBPF data plane is on.
 */
export function kernelReconcilers(config: AgentConfig): Reconciler[] {
  // The agent runs in the node's (or the lab router's) namespace; tools act where it runs.
  const runner = execRunner();
  // Programs loaded or adopted and attached before anything is served; the offload lease starts here.
  const dataPlane = startDataPlane(config, jsonLogger(config.logLevel));
  return [
    // Policy map entries and fos1_config: batched through libbpf; also re-attaches detached programs.
    ...(dataPlane ? [dataPlane.reconciler] : []),
    // Blocks and application control: one nft transaction per change.
    new NftablesReconciler(runner),
    // HTB trees per uplink: one tc batch per device.
    new TcReconciler({ runner }),
    // Mark -> uplink table rules and each table's default route.
    new IpReconciler(runner),
  ];
}
