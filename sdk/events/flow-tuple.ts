import { isIP, SocketAddress } from "node:net";
import type { FlowTuple } from "./dpi-event";
import { isIpAddress } from "./wire-types";

// IP protocol numbers the model names; every other protocol is its number.
const PROTOCOL_NAMES: Readonly<Record<number, string>> = {
  1: "icmp",
  6: "tcp",
  17: "udp",
  58: "icmpv6",
  132: "sctp",
};
const PROTOCOL_NUMBERS: Readonly<Record<string, number>> = {
  icmp: 1,
  tcp: 6,
  udp: 17,
  icmpv6: 58,
  "ipv6-icmp": 58,
  icmp6: 58,
  sctp: 132,
  gre: 47,
  esp: 50,
  ah: 51,
};

/** The IP protocol number of a model protocol name (`tcp`, `icmpv6`, or a number as text). */
export function protocolNumber(protocol: string): number {
  return PROTOCOL_NUMBERS[protocol] ?? Number(protocol);
}

/**
 * The model's protocol name for what an engine wrote (`TCP`, `IPv6-ICMP`, `17`, `047`),
 * or undefined when it names no IP protocol (Zeek's `unknown_transport`).
 */
export function normalizeProtocol(value: string | number): string | undefined {
  const known = typeof value === "string" ? PROTOCOL_BY_SPELLING.get(value) : undefined;
  return known ?? protocolName(String(value).trim().toLowerCase());
}

function protocolName(text: string): string | undefined {
  const number = /^[0-9]{1,3}$/.test(text) ? Number(text) : PROTOCOL_NUMBERS[text];
  if (number === undefined || number > 255) return undefined;
  return PROTOCOL_NAMES[number] ?? String(number);
}

// The spellings engines usually write (`TCP`, `tcp`, `Tcp`, `6`), looked up before the general path: it runs per line.
const PROTOCOL_BY_SPELLING: ReadonlyMap<string, string> = new Map(
  Object.entries(PROTOCOL_NUMBERS).flatMap(([name, number]) =>
    [name, name.toUpperCase(), `${name[0].toUpperCase()}${name.slice(1)}`, String(number)].map(
      (spelling) => [spelling, protocolName(name) as string] as const,
    ),
  ),
);

/** One spelling per address (IPv6 compressed, lower case) so blocks and caches match across engines. */
export function canonicalIp(address: string): string {
  // Only IPv6 has spellings to choose between; a colon is the cheap test for it.
  if (address.includes(":") && isIP(address) === 6)
    return new SocketAddress({ address, family: "ipv6" }).address;
  return address;
}

export interface FlowInput {
  readonly srcIp: string;
  readonly dstIp: string;
  readonly srcPort?: number;
  readonly dstPort?: number;
  /** Already normalised with normalizeProtocol. */
  readonly protocol: string;
  readonly vlan?: readonly number[];
  readonly icmpType?: number;
  readonly icmpCode?: number;
  readonly flowId?: string;
  readonly communityId?: string;
}

/**
 * The flow tuple: addresses canonical, ICMP carrying type/code and no ports,
 * and ICMP over IPv6 named icmpv6 even where the engine calls it icmp (Zeek).
 */
export function flowTuple(input: FlowInput): FlowTuple {
  const ipVersion = input.srcIp.includes(":") && isIP(input.srcIp) === 6 ? 6 : 4;
  const protocol = input.protocol === "icmp" && ipVersion === 6 ? "icmpv6" : input.protocol;
  const isIcmp = protocol === "icmp" || protocol === "icmpv6";
  const flow: { -readonly [K in keyof FlowTuple]: FlowTuple[K] } = {
    srcIp: canonicalIp(input.srcIp),
    dstIp: canonicalIp(input.dstIp),
    protocol,
    ipVersion,
  };
  if (!isIcmp && input.srcPort !== undefined) flow.srcPort = input.srcPort;
  if (!isIcmp && input.dstPort !== undefined) flow.dstPort = input.dstPort;
  if (input.vlan && input.vlan.length > 0) flow.vlan = [...input.vlan];
  if (isIcmp && input.icmpType !== undefined) flow.icmpType = input.icmpType;
  if (isIcmp && input.icmpCode !== undefined) flow.icmpCode = input.icmpCode;
  if (input.flowId !== undefined) flow.flowId = input.flowId;
  if (input.communityId !== undefined) flow.communityId = input.communityId;
  return flow;
}

/** Lower case without a trailing dot or `:port`; undefined for empty values and bare IP addresses, which name no service. */
export function normalizeServerName(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  let name = value.trim().toLowerCase();
  if (!isIpAddress(name)) name = name.replace(/:[0-9]+$/, "");
  name = name.replace(/\.$/, "");
  if (name === "" || isIpAddress(name) || isIpAddress(name.replace(/^\[|\]$/g, ""))) return undefined;
  return name;
}

/** The object without its undefined fields, so events compare and serialise cleanly. */
export function prune<T extends object>(value: T): T {
  const kept: Record<string, unknown> = {};
  const record = value as Record<string, unknown>;
  // for...in: no entry arrays per call; the parts are plain literals without inherited keys.
  for (const key in record) if (record[key] !== undefined) kept[key] = record[key];
  return kept as T;
}
