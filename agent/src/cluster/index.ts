export {
  ClusterState,
  type ClusterHandler,
  type ClusterStateDependencies,
  type ClusterStatus,
} from "./cluster-state";
export type { PublishOutcome } from "./publisher";
export { clusterConfig, type ClusterConfig, type ClusterConfigInput } from "./cluster-config";
export { ClusterMetrics } from "./cluster-metrics";
export {
  canonicalAddress,
  ClusterKeys,
  type BlockDecision,
  type ClusterBlock,
  type ClusterDestination,
  type DestinationDecision,
} from "./cluster-records";
export type { Change, RemoveCause } from "./cluster-view";
export { LocalEtcd, type LocalEtcdOptions } from "./local-etcd";
