import { parseNprobeJson } from "../../../sdk/events";
import { StreamListenerSource, type StreamListenerSourceOptions } from "./stream-listener-source";

export type NprobeTcpSourceOptions = Omit<StreamListenerSourceOptions, "engine" | "parse" | "listen"> & {
  /** Address to listen on; keep it on the node (loopback or the pod network). */
  readonly host: string;
  /** nProbe's `--tcp <host>:<port>` target; 0 picks a free port (tests). */
  readonly port: number;
};

/** nProbe's newline-delimited JSON flows (`--tcp`, `--json-labels`) over TCP. */
export function nprobeTcpSource(options: NprobeTcpSourceOptions): StreamListenerSource {
  const { host, port, ...rest } = options;
  return new StreamListenerSource({
    ...rest,
    engine: "nprobe",
    parse: parseNprobeJson,
    listen: { host, port },
  });
}
