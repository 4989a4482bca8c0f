import { readFileSync } from "node:fs";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { DEFAULT_PIN_ROOT } from "../../sdk/abi/constants";
import { clusterConfig } from "./cluster/cluster-config";
import { ingestConfig } from "./runtime/ingest-config";
import { duration, interfaceName, name } from "../../sdk/schema/quantities";
import { problemsFromZod, ValidationError } from "../../sdk/schema/problem";

/** Where the agent looks for its configuration when `--config` is not given. */
export const DEFAULT_CONFIG_FILE = "/etc/fos1-dpi/agent.yaml";

const path = z.string().min(1, "must not be empty");

/**
 * The agent's configuration file (YAML or JSON). Secrets are never inline:
 * the token and the TLS key are files, so a Kubernetes Secret can be mounted
 * there and rotated without touching the config.
 */
export const agentConfig = z.strictObject({
  /** The node this agent programs; PUTs for another node are refused. */
  node: name,
  listen: z
    .strictObject({
      address: z.string().min(1).default("0.0.0.0"),
      port: z.number().int().min(0).max(65535).default(9443),
      /**
       * A Unix socket path to listen on instead of the TCP address. Still HTTPS
       * with the token; it lets the lab and tests reach an agent that runs in a
       * network namespace with no link to theirs, through the file system.
       */
      socket: path.optional(),
    })
    .default({ address: "0.0.0.0", port: 9443 }),
  tls: z.strictObject({ certFile: path, keyFile: path }),
  /** File holding the bearer token every API call except the probes must carry. */
  tokenFile: path,
  /** Where the desired programs are kept across restarts. */
  stateDir: path.default("/var/lib/fos1-dpi"),
  /** How often the kernel is read back and drift repaired. */
  reconcileInterval: duration.default(5000),
  /** Largest request body accepted; a 1M-entry program is about 60 MB of JSON. */
  maxBodyBytes: z
    .number()
    .int()
    .min(1024)
    .max(512 * 1024 * 1024)
    .default(64 * 1024 * 1024),
  bpf: z
    .strictObject({
      /** bpffs directory holding the pinned maps and programs. */
      pinRoot: path.default(DEFAULT_PIN_ROOT),
      /** Directory of the compiled `bpf/` objects the loader attaches. */
      objectsDir: path.default("/usr/lib/fos1-dpi/bpf"),
      /**
       * Load and attach the eBPF programs. true: refuse to start without them;
       * false: never (programs needing maps are refused with 422).
       * @default true when objectsDir holds the objects, else false
       */
      enabled: z.boolean().optional(),
      /**
       * How long the fast path outlives the agent: the lease it renews while alive.
       * @default 15s
       */
      offloadLease: duration.optional(),
      /**
       * How long the fast path reuses a flow's route lookup (next hop, MACs,
       * MTU) before asking the FIB again: a route or neighbour change reaches
       * offloaded flows within it.
       * @default 1s
       */
      nexthopCache: duration.optional(),
    })
    .default({ pinRoot: DEFAULT_PIN_ROOT, objectsDir: "/usr/lib/fos1-dpi/bpf" }),
  /** This node's interfaces; programs naming any other interface are refused. */
  interfaces: z.strictObject({
    /** Uplink name (as in the Site) -> the interface towards it. */
    uplinks: z
      .record(name, interfaceName)
      .refine((u) => Object.keys(u).length > 0, { message: "at least one uplink is required" }),
    lan: z.array(interfaceName).min(1, "at least one LAN interface is required"),
    /** Interface the sensors listen on, when mirroring is used. */
    mirror: interfaceName.optional(),
  }),
  /** Sensor outputs turned into verdicts in the kernel. @default none: the agent only programs policy */
  ingest: ingestConfig.default({
    sources: [],
    alerts: "stdout",
    kubernetesEvents: "auto",
    flowWaitMs: 2_000,
  }),
  /** The site's etcd, through which blocks and learned destinations reach every node. @default none: this node only */
  cluster: clusterConfig.omit({ node: true }).optional(),
  logLevel: z.enum(["debug", "info", "warn", "error"]).default("info"),
});
export type AgentConfig = z.output<typeof agentConfig>;
export type AgentConfigInput = z.input<typeof agentConfig>;

/** Reads and validates a config file; every problem is reported as `file: path: reason`. */
export function loadAgentConfig(file: string): AgentConfig {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    throw new ValidationError(
      [{ file, path: "", message: `cannot read: ${(error as NodeJS.ErrnoException).code ?? String(error)}` }],
      "agent config",
    );
  }
  return parseAgentConfig(text, file);
}

export function parseAgentConfig(text: string, file: string): AgentConfig {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (error) {
    throw new ValidationError([{ file, path: "", message: (error as Error).message }], "agent config");
  }
  const parsed = agentConfig.safeParse(raw);
  if (!parsed.success) {
    throw new ValidationError(
      problemsFromZod(parsed.error).map((p) => ({ ...p, file })),
      "agent config",
    );
  }
  return parsed.data;
}

/** Reads the API token; an empty token would let an empty Authorization header through. */
export function readToken(file: string): string {
  const token = readFileSync(file, "utf8").trim();
  if (!/^[\x21-\x7e]{16,4096}$/.test(token)) {
    throw new ValidationError(
      [
        {
          file,
          path: "",
          message: "the token must be 16 to 4096 printable ASCII characters without spaces",
        },
      ],
      "agent token",
    );
  }
  return token;
}
