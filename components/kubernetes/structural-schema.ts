/** A JSON Schema node as zod's `toJSONSchema` writes it. */
type JsonSchema = { [key: string]: unknown };

/** Keywords a Kubernetes structural schema accepts as they are. */
const KEPT = new Set([
  "type",
  "description",
  "properties",
  "items",
  "required",
  "enum",
  "pattern",
  "minLength",
  "maxLength",
  "minItems",
  "maxItems",
  "minimum",
  "maximum",
  "format",
  "default",
  "nullable",
]);

/**
 * zod's JSON Schema (draft 2020-12) as a Kubernetes structural OpenAPI v3
 * schema: `additionalProperties: false` goes (the API server prunes unknown
 * fields instead), a string-or-number union becomes int-or-string (spelt `x_kubernetes_*` as the Pulumi SDK wants; the provider sends `x-kubernetes-*`), a record
 * keeps its value schema, a `const` becomes a one-value enum, and any keyword
 * Kubernetes would reject throws, naming where, so the CRD never drifts from
 * the zod schema silently.
 */
export function toStructuralSchema(schema: JsonSchema, path = "spec"): JsonSchema {
  const out: JsonSchema = {};
  for (const [key, value] of Object.entries(schema)) {
    if (key === "$schema" || key === "propertyNames") continue;
    if (key === "additionalProperties") {
      if (value !== false) out.additionalProperties = toStructuralSchema(value as JsonSchema, `${path}.*`);
      continue;
    }
    if (key === "const") {
      out.enum = [value];
      continue;
    }
    if (key === "exclusiveMinimum" || key === "exclusiveMaximum") {
      out[key === "exclusiveMinimum" ? "minimum" : "maximum"] = value;
      out[key] = true;
      continue;
    }
    if (!KEPT.has(key)) throw new Error(`${path}: JSON Schema keyword "${key}" has no structural equivalent`);
    if (key === "type" && Array.isArray(value)) {
      const kinds = [...value].sort().join(",");
      if (kinds !== "number,string" && kinds !== "integer,string")
        throw new Error(`${path}: union type [${kinds}] has no structural equivalent`);
      out.x_kubernetes_int_or_string = true;
      continue;
    }
    if (key === "properties") {
      out.properties = Object.fromEntries(
        Object.entries(value as Record<string, JsonSchema>).map(([name, child]) => [
          name,
          toStructuralSchema(child, `${path}.${name}`),
        ]),
      );
      continue;
    }
    if (key === "items") {
      out.items = toStructuralSchema(value as JsonSchema, `${path}[]`);
      continue;
    }
    out[key] = value;
  }
  return out;
}
