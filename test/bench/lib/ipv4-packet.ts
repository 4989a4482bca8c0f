import { addressBytes } from "../../../sdk/abi/address";

/** RFC 1071 one's-complement sum over `buf`, folded and inverted. */
function checksum(buf: Buffer): number {
  let sum = 0;
  for (let i = 0; i + 1 < buf.length; i += 2) sum += buf.readUInt16BE(i);
  if (buf.length % 2) sum += buf[buf.length - 1]! << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

export interface Ipv4Flow {
  readonly src: string;
  readonly dst: string;
  readonly sport: number;
  readonly dport: number;
  readonly proto: "tcp" | "udp";
}

/**
 * One Ethernet + IPv4 + TCP (SYN) or UDP frame of a flow, with a valid IP
 * header checksum and 32 bytes of payload: what BPF_PROG_TEST_RUN feeds the
 * tc programs. Transport checksums are left 0 (the programs do not check them).
 */
export function ipv4Packet(flow: Ipv4Flow): Buffer {
  const l4 = flow.proto === "tcp" ? 20 : 8;
  const payload = 32;
  const eth = Buffer.alloc(14);
  eth.set([0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01]);
  eth.writeUInt16BE(0x0800, 12);
  const ip = Buffer.alloc(20);
  ip[0] = 0x45;
  ip.writeUInt16BE(20 + l4 + payload, 2);
  ip[8] = 64;
  ip[9] = flow.proto === "tcp" ? 6 : 17;
  addressBytes(flow.src).copy(ip, 12, 12, 16);
  addressBytes(flow.dst).copy(ip, 16, 12, 16);
  ip.writeUInt16BE(checksum(ip), 10);
  const t = Buffer.alloc(l4);
  t.writeUInt16BE(flow.sport, 0);
  t.writeUInt16BE(flow.dport, 2);
  if (flow.proto === "tcp") {
    t[12] = 5 << 4;
    t[13] = 0x02;
    t.writeUInt16BE(64240, 14);
  } else t.writeUInt16BE(l4 + payload, 4);
  return Buffer.concat([eth, ip, t, Buffer.alloc(payload)]);
}

/** The DSCP of an Ethernet + IPv4 frame. */
export function dscpOf(frame: Buffer): number {
  return frame[15]! >> 2;
}
