import { join } from "node:path";
import {
  EveFileSource,
  eveSocketSource,
  NdpiFileSource,
  NdpiSensorSource,
  nprobeTcpSource,
  ZeekLogDirSource,
  type EventSink,
  type IngestSource,
} from "../ingest";
import type { Logger } from "../log";
import { sourceName, type IngestSourceConfig } from "./ingest-config";

/** The ingest sources a config names, not started; offsets live under `stateDir/ingest`. */
export function createIngestSources(
  sources: readonly IngestSourceConfig[],
  stateDir: string,
  sink: EventSink,
  log: Logger,
): IngestSource[] {
  const offsets = join(stateDir, "ingest");
  return sources.map((source): IngestSource => {
    const name = sourceName(source);
    const common = { name, sink, log, maxLineBytes: source.maxLineBytes };
    switch (source.type) {
      case "eve-socket":
        return eveSocketSource({ ...common, path: source.path });
      case "eve-file":
        return new EveFileSource({
          ...common,
          path: source.path,
          stateDir: offsets,
          startAtEnd: source.startAtEnd,
        });
      case "zeek-dir":
        return new ZeekLogDirSource({
          ...common,
          dir: source.dir,
          stateDir: offsets,
          startAtEnd: source.startAtEnd,
        });
      case "nprobe-tcp":
        return nprobeTcpSource({ ...common, host: source.host, port: source.port });
      case "ndpi-file":
        return new NdpiFileSource({
          ...common,
          path: source.path,
          stateDir: offsets,
          startAtEnd: source.startAtEnd,
        });
      case "ndpi-sensor":
        return new NdpiSensorSource({
          ...common,
          binary: source.binary,
          iface: source.interface,
          args: source.args,
          launcher: source.launcher,
        });
    }
  });
}
