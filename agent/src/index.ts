export { runAgent, startAgent, type AgentDependencies, type RunningAgent } from "./agent";
export {
  agentConfig,
  loadAgentConfig,
  parseAgentConfig,
  DEFAULT_CONFIG_FILE,
  type AgentConfig,
} from "./config";
export { ReconcileEngine, SUBSYSTEM_ORDER, type ProgramPersistence } from "./engine/reconcile-engine";
export { AgentMetrics } from "./metrics";
export { ConflictError, type Reconciler, type ProgramDrift, type Subsystem } from "./reconcile/reconciler";
