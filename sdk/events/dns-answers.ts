import { isIP } from "node:net";
import type { DpiEvent } from "./dpi-event";
import { canonicalIp } from "./flow-tuple";

export interface LearnedAddress {
  readonly address: string;
  /** Seconds the answer may be cached; absent when the engine did not log it. */
  readonly ttl?: number;
}

/**
 * The addresses a DNS event resolved its query to (A/AAAA answers), canonical,
 * with their TTLs: what the agent learns application -> destination from.
 */
export function dnsAddressAnswers(event: DpiEvent): LearnedAddress[] {
  return (event.dns?.answers ?? [])
    .filter((answer) => isIP(answer.data) !== 0)
    .map((answer) =>
      answer.ttl === undefined
        ? { address: canonicalIp(answer.data) }
        : { address: canonicalIp(answer.data), ttl: answer.ttl },
    );
}
