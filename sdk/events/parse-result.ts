import type { z } from "zod";
import type { DpiEvent } from "./dpi-event";

/**
 * Why a line was not turned into an event. Stable codes, so ingest can count
 * them per reason; `detail` says where (`path: reason`).
 * - `not-json`: the line is not JSON (truncated write, garbage).
 * - `not-object`: valid JSON, but not an object.
 * - `invalid-field`: a field the model reads has the wrong type or value.
 * - `no-flow`: the record is about no flow (stats, inventories, certificates).
 * - `line-too-long`: longer than the reader accepts; never parsed.
 */
export const REJECT_REASONS = [
  "not-json",
  "not-object",
  "invalid-field",
  "no-flow",
  "line-too-long",
] as const;
export type RejectReason = (typeof REJECT_REASONS)[number];

export interface Rejection {
  readonly ok: false;
  readonly reason: RejectReason;
  readonly detail: string;
}

export type ParseResult = { readonly ok: true; readonly event: DpiEvent } | Rejection;

/** A parser turns one line of engine output into an event or a rejection; it never throws. */
export type LineParser = (line: string) => ParseResult;

export function reject(reason: RejectReason, detail: string): Rejection {
  return { ok: false, reason, detail };
}

/** `path: message` for the first issue, with the path written as the engine names it (`alert.signature_id`). */
export function describeIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  const path = issue.path.map((p) => (typeof p === "number" ? `[${p}]` : String(p))).join(".");
  return `${path.replace(/\.\[/g, "[") || "(record)"}: ${issue.message}`;
}
