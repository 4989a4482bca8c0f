import { z } from "zod";
import { dpiSensor } from "./dpi-sensor";
import { fastPathPolicy } from "./fast-path-policy";
import { firewallPolicy } from "./firewall-policy";
import { problemsFromZod, type Problem } from "./problem";
import { qosPolicy } from "./qos-policy";
import { routingPolicy } from "./routing-policy";
import { site } from "./site";

/** Every document kind fos1-dpi reads, by `kind`. */
export const DOCUMENT_SCHEMAS = {
  QoSPolicy: qosPolicy,
  RoutingPolicy: routingPolicy,
  FastPathPolicy: fastPathPolicy,
  FirewallPolicy: firewallPolicy,
  DpiSensor: dpiSensor,
  Site: site,
} as const;

export type DocumentKind = keyof typeof DOCUMENT_SCHEMAS;
export type Fos1Document = { [K in DocumentKind]: z.output<(typeof DOCUMENT_SCHEMAS)[K]> }[DocumentKind];
export type DocumentOfKind<K extends DocumentKind> = z.output<(typeof DOCUMENT_SCHEMAS)[K]>;

export const DOCUMENT_KINDS = Object.keys(DOCUMENT_SCHEMAS) as DocumentKind[];

export type Validation<T> = { ok: true; value: T } | { ok: false; problems: Problem[] };

/** Validates one document of any kind, dispatching on `kind`. */
export function validateDocument(input: unknown): Validation<Fos1Document> {
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    return {
      ok: false,
      problems: [{ path: "", message: "expected a mapping with apiVersion, kind, metadata and spec" }],
    };
  }
  const kind = (input as { kind?: unknown }).kind;
  if (typeof kind !== "string" || !(kind in DOCUMENT_SCHEMAS)) {
    const message =
      kind === undefined
        ? `required; one of ${DOCUMENT_KINDS.join(", ")}`
        : `unknown kind ${JSON.stringify(kind)}; expected one of ${DOCUMENT_KINDS.join(", ")}`;
    return { ok: false, problems: [{ path: "kind", message }] };
  }
  return validateKind(kind as DocumentKind, input);
}

/** Validates a document that must be of `kind`. */
export function validateKind<K extends DocumentKind>(kind: K, input: unknown): Validation<DocumentOfKind<K>> {
  const result = DOCUMENT_SCHEMAS[kind].safeParse(input);
  if (result.success) return { ok: true, value: result.data as DocumentOfKind<K> };
  return { ok: false, problems: problemsFromZod(result.error) };
}
