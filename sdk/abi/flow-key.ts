import { addressBytes } from "./address";
import type { FlowKey } from "./codec";

const IPPROTO_ICMP = 1;
const IPPROTO_TCP = 6;
const IPPROTO_UDP = 17;
const IPPROTO_ICMPV6 = 58;

/** One packet's view of a flow, as a sensor or the agent names it. */
export interface FlowTuple {
  readonly src: string;
  readonly dst: string;
  /** TCP/UDP source port; for ICMP and ICMPv6 the echo identifier (0 for other messages). */
  readonly sport: number;
  /** TCP/UDP destination port; ignored for ICMP (both ports carry the identifier). */
  readonly dport: number;
  readonly proto: number;
  /** 802.1Q VID; 0 or absent when untagged. */
  readonly vlanId?: number;
}

/**
 * The normalised key the programs compute for the tuple, and whether the
 * tuple's source is endpoint a. Endpoint a is the lower (address, port) pair:
 * the address compared as a big-endian 128-bit number, then the port, exactly
 * as flow_key_from_pkt() in bpf/src/flow.h.
 */
export function flowKeyOf(t: FlowTuple): { key: FlowKey; srcIsA: boolean } {
  let sport = t.sport;
  let dport = t.dport;
  if (t.proto === IPPROTO_ICMP || t.proto === IPPROTO_ICMPV6) dport = sport;
  else if (t.proto !== IPPROTO_TCP && t.proto !== IPPROTO_UDP) sport = dport = 0;
  const c = Buffer.compare(addressBytes(t.src), addressBytes(t.dst));
  const srcIsA = c < 0 || (c === 0 && sport <= dport);
  const key: FlowKey = srcIsA
    ? { addrA: t.src, addrB: t.dst, portA: sport, portB: dport, vlanId: t.vlanId ?? 0, proto: t.proto }
    : { addrA: t.dst, addrB: t.src, portA: dport, portB: sport, vlanId: t.vlanId ?? 0, proto: t.proto };
  return { key, srcIsA };
}
