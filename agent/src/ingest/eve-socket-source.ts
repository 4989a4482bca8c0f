import { parseSuricataEve } from "../../../sdk/events";
import { StreamListenerSource, type StreamListenerSourceOptions } from "./stream-listener-source";

export type EveSocketSourceOptions = Omit<StreamListenerSourceOptions, "engine" | "parse" | "listen"> & {
  /** Where Suricata connects (`outputs.eve-log.filename` with `filetype: unix_stream`). */
  readonly path: string;
  /** File mode of the socket, so Suricata's user may connect. @default the umask's */
  readonly mode?: number;
};

/** Suricata's EVE `unix_stream` output: the agent listens, Suricata connects and reconnects. */
export function eveSocketSource(options: EveSocketSourceOptions): StreamListenerSource {
  const { path, mode, ...rest } = options;
  return new StreamListenerSource({
    ...rest,
    engine: "suricata",
    parse: parseSuricataEve,
    listen: mode === undefined ? { path } : { path, mode },
  });
}
