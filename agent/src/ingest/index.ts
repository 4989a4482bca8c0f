export { alertLineWriter, alertRecord } from "./alert-writer";
export {
  EveFileSource,
  LineFileSource,
  NdpiFileSource,
  type LineFileSourceOptions,
} from "./line-file-source";
export { eveSocketSource, type EveSocketSourceOptions } from "./eve-socket-source";
export type { FileSourceOptions } from "./file-source-options";
export type { EventSink, IngestSource, IngestSourceStats } from "./ingest-source";
export { IngestMetrics } from "./ingest-metrics";
export { NdpiSensorSource, type NdpiSensorSourceOptions } from "./ndpi-sensor-source";
export { nprobeTcpSource, type NprobeTcpSourceOptions } from "./nprobe-tcp-source";
export { OffsetStore, type FilePosition } from "./offset-store";
export type { OrderedDeliveryOptions } from "./ordered-delivery";
export {
  StreamListenerSource,
  type ListenAddress,
  type StreamListenerSourceOptions,
} from "./stream-listener-source";
export { ZeekLogDirSource, type ZeekLogDirSourceOptions } from "./zeek-log-dir-source";
