/** Stack config keys of the agent credentials: set them with `pulumi config set --secret`. */
export const AGENT_TOKEN_CONFIG = "fos1:agentToken";
export const AGENT_CA_CONFIG = "fos1:agentCa";

export interface AgentCredentials {
  readonly token: string;
  /** PEM of the CA that signed the agents' certificates; absent: the system CAs. */
  readonly ca?: string;
}

/** Anything with `get(key)`: the dynamic provider's configure request, or a test's map. */
export interface ConfigSource {
  get(key: string): string | undefined;
}

/**
 * Reads the credentials from stack config. They reach the provider through
 * its `configure` call (or, with older engines, the PULUMI_CONFIG environment
 * the engine gives the provider process), never through resource inputs, so
 * they are never written to state.
 */
export function credentialsFrom(config: ConfigSource): AgentCredentials | undefined {
  const token = config.get(AGENT_TOKEN_CONFIG);
  if (!token) return undefined;
  const ca = config.get(AGENT_CA_CONFIG);
  return ca ? { token, ca } : { token };
}

/** The engine's environment form of stack config: a JSON object of `namespace:key` -> string. */
export function environmentConfig(env: NodeJS.ProcessEnv): ConfigSource {
  let values: Record<string, unknown> = {};
  try {
    values = JSON.parse(env.PULUMI_CONFIG ?? "{}") as Record<string, unknown>;
  } catch {
    values = {};
  }
  return { get: (key) => (typeof values[key] === "string" ? (values[key] as string) : undefined) };
}
