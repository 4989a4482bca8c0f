import { flowKeyOf } from "../abi/flow-key";
import type { FlowKey } from "../abi/codec";
import { protocolNumber } from "../events/flow-tuple";
import type { FlowRef } from "./decisions";

/**
 * The flow-table key of a flow an event names, as the programs compute it
 * for its packets. Events name ICMP flows without the echo identifier the
 * programs key them by, so for ICMP this key finds only identifier-0 flows.
 */
export function flowKeyOfRef(ref: FlowRef, vlanId = 0): FlowKey {
  const proto = protocolNumber(ref.protocol);
  return flowKeyOf({ src: ref.srcIp, dst: ref.dstIp, sport: ref.srcPort, dport: ref.dstPort, proto, vlanId })
    .key;
}
