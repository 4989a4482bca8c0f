import { z } from "zod";
import { interfaceName, name } from "../../../sdk/schema/quantities";

const path = z.string().min(1, "must not be empty");

/** Lines longer than this are skipped and counted; a Suricata alert with its payload is a few kB. */
const maxLineBytes = z
  .number()
  .int()
  .min(1024)
  .max(64 * 1024 * 1024)
  .optional();

/** Suricata connects to the agent (`eve-log.filetype: unix_stream`); the agent listens on `path`. */
const eveSocket = z.strictObject({
  type: z.literal("eve-socket"),
  name: name.optional(),
  path,
  maxLineBytes,
});
/** Suricata's eve.json as a regular file, followed through rotation and resumed from the saved offset. */
const eveFile = z.strictObject({
  type: z.literal("eve-file"),
  name: name.optional(),
  path,
  /** On the very first start, skip what the file already holds. @default true */
  startAtEnd: z.boolean().optional(),
  maxLineBytes,
});
/** Zeek's JSON log directory (`Log::default_logdir`). */
const zeekDir = z.strictObject({
  type: z.literal("zeek-dir"),
  name: name.optional(),
  dir: path,
  /** @default true */
  startAtEnd: z.boolean().optional(),
  maxLineBytes,
});
/** nProbe's JSON flow export (`--tcp`); the agent listens. */
const nprobeTcp = z.strictObject({
  type: z.literal("nprobe-tcp"),
  name: name.optional(),
  host: z.string().min(1).default("127.0.0.1"),
  port: z.number().int().min(1).max(65535),
  maxLineBytes,
});
/** The fos1-ndpi-sensor's JSON lines in a file, written by the sensor's own container (its image's entrypoint). */
const ndpiFile = z.strictObject({
  type: z.literal("ndpi-file"),
  name: name.optional(),
  path,
  /** @default true */
  startAtEnd: z.boolean().optional(),
  maxLineBytes,
});
/** The fos1-ndpi-sensor, run by the agent on the capture interface and restarted when it dies. */
const ndpiSensor = z.strictObject({
  type: z.literal("ndpi-sensor"),
  name: name.optional(),
  interface: interfaceName,
  /** @default /usr/bin/fos1-ndpi-sensor */
  binary: path.default("/usr/bin/fos1-ndpi-sensor"),
  /** More sensor arguments (`["--idle-timeout", "30"]`). */
  args: z.array(z.string()).default([]),
  /** A command the sensor runs under (`["ip", "netns", "exec", "lab"]`). */
  launcher: z.array(z.string()).default([]),
  maxLineBytes,
});

export const ingestSource = z.discriminatedUnion("type", [
  eveSocket,
  eveFile,
  zeekDir,
  nprobeTcp,
  ndpiSensor,
  ndpiFile,
]);
export type IngestSourceConfig = z.output<typeof ingestSource>;

/** The source's name: given, else its type; names key saved offsets and metrics, so they are unique. */
export function sourceName(source: IngestSourceConfig): string {
  return source.name ?? source.type;
}

export const ingestConfig = z
  .strictObject({
    sources: z.array(ingestSource).default([]),
    /** Every decision that blocks, as one JSON line; `none` leaves alerts to the metrics. */
    alerts: z.enum(["stdout", "none"]).default("stdout"),
    /** Kubernetes Events on the pods alerts are about: `auto` when the agent runs in a cluster. */
    kubernetesEvents: z.enum(["auto", "off"]).default("auto"),
    /**
     * Decisions (classifications, offloads) are queued for their flows this
     * long when inspection reports a flow before its first packet reached the
     * flow table (a sensor on the mirror can be faster than the table write).
     */
    flowWaitMs: z.number().int().min(0).max(60_000).default(2_000),
  })
  .superRefine((config, ctx) => {
    const seen = new Map<string, number>();
    config.sources.forEach((source, i) => {
      const n = sourceName(source);
      const first = seen.get(n);
      if (first !== undefined) {
        ctx.addIssue({
          code: "custom",
          path: ["sources", i, "name"],
          message: `"${n}" is already the name of sources[${first}]; give each source of one type its own name`,
        });
      } else seen.set(n, i);
    });
  });
export type IngestConfig = z.output<typeof ingestConfig>;
