export * from "./dpi-event";
export { dnsAddressAnswers, type LearnedAddress } from "./dns-answers";
export {
  emptyLineStats,
  EventLineReader,
  parseLineStream,
  parseLines,
  type LineReaderOptions,
  type LineStats,
} from "./line-stream";
export { ndpiRecordSchema, parseNdpiRecord, type NdpiRecord } from "./ndpi-record";
export { parseNprobeJson } from "./nprobe-json";
export {
  REJECT_REASONS,
  type LineParser,
  type ParseResult,
  type RejectReason,
  type Rejection,
} from "./parse-result";
export { riskFromNdpiRisks, riskFromSuricataSeverity, riskFromZeekNotice, severityFromRisk } from "./risk";
export { parseSuricataEve } from "./suricata-eve";
export { parseZeekLog } from "./zeek-log";
