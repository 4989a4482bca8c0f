import * as pulumi from "@pulumi/pulumi";

/**
 * True when `value` holds no Output or Promise at any depth, so it can be
 * validated while the constructor runs and a bad argument throws there,
 * rather than later when the value resolves.
 */
export function isKnownNow(value: unknown): boolean {
  if (pulumi.Output.isInstance(value) || value instanceof Promise) return false;
  if (Array.isArray(value)) return value.every(isKnownNow);
  if (value !== null && typeof value === "object") return Object.values(value).every(isKnownNow);
  return true;
}
