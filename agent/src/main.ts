import type { AgentConfig } from "./config";
import type { RuntimeMaps } from "./bpf/runtime-maps";
import { startDataPlane } from "./bpf/start-data-plane";
import { execRunner } from "./kernel/command";
import type { Logger } from "./log";
import { IpReconciler } from "./reconcile/ip-reconciler";
import { NftablesReconciler } from "./reconcile/nftables-reconciler";
import type { Reconciler } from "./reconcile/reconciler";
import { TcReconciler } from "./reconcile/tc-reconciler";

/** What the agent programs the node's kernel with. */
export interface KernelParts {
  readonly reconcilers: Reconciler[];
  /** The runtime writers, when the eBPF data plane is on; runtime decisions are not enforced without them. */
  readonly runtimeMaps?: RuntimeMaps;
  /** Stops renewing the offload lease (programs and maps stay). */
  stop(): void;
}

/**
 * The kernel reconcilers this agent drives, one per subsystem. A subsystem
 * left out here is refused (422) for programs that need it rather than
 * silently not programmed: BPF maps only when the eBPF data plane is on.
 */
export function kernelParts(config: AgentConfig, log: Logger): KernelParts {
  // The agent runs in the node's (or the lab router's) namespace; tools act where it runs.
  const runner = execRunner();
  // Programs loaded or adopted and attached before anything is served; the offload lease starts here.
  const dataPlane = startDataPlane(config, log);
  return {
    reconcilers: [
      // Policy map entries and fos1_config: batched through libbpf; also re-attaches detached programs.
      ...(dataPlane ? [dataPlane.reconciler] : []),
      // Blocks and application control: one nft transaction per change.
      new NftablesReconciler(runner),
      // HTB trees per uplink: one tc batch per device.
      new TcReconciler({ runner }),
      // Mark -> uplink table rules and each table's default route.
      new IpReconciler(runner),
    ],
    ...(dataPlane ? { runtimeMaps: dataPlane.runtime } : {}),
    stop: () => dataPlane?.stop(),
  };
}
