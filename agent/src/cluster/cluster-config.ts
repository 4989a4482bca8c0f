import { z } from "zod";
import { name } from "../../../sdk/schema/quantities";

/** How a node reaches the site's etcd and how it behaves when it cannot. */
export const clusterConfig = z.strictObject({
  /**
   * etcd client URLs (`http://10.0.0.5:2379`), or a unix socket etcd serves
   * (`unix:///run/etcd/localhost:2379`); calls spread over them, failing over
   * when one is down.
   */
  endpoints: z
    .array(
      z.union([
        z.url({ protocol: /^https?$/ }),
        z.string().regex(/^unix:\/\/\/\S+$/, "must be an http(s) URL or unix:///absolute/path"),
      ]),
    )
    .min(1, "at least one etcd endpoint is required"),
  /** The site whose keys this node shares (`/fos1/<site>/...`). */
  site: name,
  /** This node, written into what it publishes as the origin. */
  node: name,
  /** Publications kept while etcd is unreachable; beyond this the oldest are dropped (and counted). */
  queueLimit: z.number().int().min(1).max(1_000_000).default(10_000),
  /** Deadline of each etcd call, so a hung server is noticed. */
  callTimeoutMs: z.number().int().min(100).max(60_000).default(5_000),
  /** Delay between reconnection attempts: doubles from `initialMs` up to `maxMs`, with jitter. */
  backoff: z
    .strictObject({
      initialMs: z.number().int().min(1).max(60_000).default(200),
      maxMs: z.number().int().min(1).max(600_000).default(10_000),
    })
    .refine((b) => b.initialMs <= b.maxMs, {
      message: "initialMs must not exceed maxMs",
      path: ["initialMs"],
    })
    .default({ initialMs: 200, maxMs: 10_000 }),
});
export type ClusterConfig = z.output<typeof clusterConfig>;
export type ClusterConfigInput = z.input<typeof clusterConfig>;
