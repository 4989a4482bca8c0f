import { stringify } from "yaml";
import type { Engine } from "../../sdk/schema/dpi-sensor";
import type { Site } from "../../sdk/schema/site";
import {
  NDPI_EVENTS_FILE,
  NPROBE_EXPORT_HOST,
  NPROBE_EXPORT_PORT,
  SURICATA_EVE_SOCKET,
  ZEEK_LOG_DIR,
} from "./sensor-config";

/** Where the agent pod finds what its config file names. */
export const AGENT_PATHS = {
  configDir: "/etc/fos1/agent",
  tlsDir: "/etc/fos1/tls",
  tokenDir: "/etc/fos1/token",
  stateDir: "/var/lib/fos1-dpi",
} as const;

/** Where the agent reads each engine's output: the paths and port the sensor configs write to. */
const INGEST_SOURCES: Readonly<Record<Engine, Record<string, unknown>>> = {
  suricata: { type: "eve-socket", path: SURICATA_EVE_SOCKET },
  zeek: { type: "zeek-dir", dir: ZEEK_LOG_DIR },
  nprobe: { type: "nprobe-tcp", host: NPROBE_EXPORT_HOST, port: NPROBE_EXPORT_PORT },
  ndpi: { type: "ndpi-file", path: NDPI_EVENTS_FILE },
};

/**
 * One agent config file per site node (`<node>.yaml`), in the agent's own
 * config format: the node's name, its uplink and LAN interfaces (with the
 * node's overrides), and the paths where the pod mounts its TLS pair, token
 * and state, and one ingest source per deployed sensor engine. A DaemonSet
 * has one pod template, so every pod mounts all files and picks its own by
 * node name.
 */
export function renderAgentConfigs(
  site: Site,
  port: number,
  mirrorInterface: string,
  engines: readonly Engine[],
): Record<string, string> {
  return Object.fromEntries(
    site.spec.nodes.map((node) => {
      const config = {
        node: node.name,
        listen: { address: "0.0.0.0", port },
        tls: { certFile: `${AGENT_PATHS.tlsDir}/tls.crt`, keyFile: `${AGENT_PATHS.tlsDir}/tls.key` },
        tokenFile: `${AGENT_PATHS.tokenDir}/token`,
        stateDir: AGENT_PATHS.stateDir,
        // The image carries the eBPF objects: an agent that cannot load them must not start and serve 422s.
        bpf: { enabled: true },
        interfaces: {
          uplinks: Object.fromEntries(
            site.spec.uplinks.map((u) => [u.name, node.interfaces?.[u.name] ?? u.interface]),
          ),
          lan: [...site.spec.lan.interfaces],
          mirror: mirrorInterface,
        },
        ingest: { sources: [...new Set(engines)].sort().map((e) => INGEST_SOURCES[e]) },
      };
      return [`${node.name}.yaml`, stringify(config)];
    }),
  );
}
