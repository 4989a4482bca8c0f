import { createSocket } from "node:dgram";
import { createServer as createHttpServer } from "node:http";
import { connect, createServer } from "node:net";

/**
 * Live application traffic for the lab's class-rate run, one process per
 * role inside a lab namespace. Each flow opens the way its application does
 * (a BitTorrent peer handshake, a SIP INVITE), so nDPI names it from its
 * payload, and then carries bulk data for the QoS class to shape.
 *
 *   class-driver sinks                    TCP discard on bulk:6881, HTTP on web:80 (prints "ready")
 *   class-driver bittorrent ADDRESS SEC   a peer connection, then as fast as TCP allows
 *   class-driver sip ADDRESS MBPS SEC     an INVITE from 5060, then paced datagrams on the same flow
 */
/**
 * The servers of the live flows, per class: RFC 2544 addresses answered by
 * isp1, the default uplink (AnyIP). One each, because nDPI caches what it
 * learned about an address (a BitTorrent peer) and would name the next flow
 * to it by that.
 */
export const LIVE_SERVERS = {
  default: "198.18.0.10",
  bulk: "198.18.0.11",
  web: "198.18.0.12",
  voip: "198.18.0.13",
} as const;
export const BITTORRENT_PORT = 6881;
export const HTTP_PORT = 80;
export const SIP_PORT = 5060;

function bittorrentHandshake(): Buffer {
  const protocol = Buffer.from("BitTorrent protocol");
  const infoHash = Buffer.alloc(20, 0x5a);
  const peerId = Buffer.from("-FO0001-lab-peer-000");
  return Buffer.concat([Buffer.from([protocol.length]), protocol, Buffer.alloc(8), infoHash, peerId]);
}

function sipInvite(address: string): Buffer {
  return Buffer.from(
    [
      `INVITE sip:lab@${address} SIP/2.0`,
      `Via: SIP/2.0/UDP 10.10.1.10:${SIP_PORT};branch=z9hG4bK-fos1-lab`,
      "Max-Forwards: 70",
      `To: <sip:lab@${address}>`,
      "From: <sip:client@lab.invalid>;tag=fos1",
      "Call-ID: fos1-lab-call@lab.invalid",
      "CSeq: 1 INVITE",
      "Contact: <sip:client@10.10.1.10>",
      "Content-Length: 0",
      "",
      "",
    ].join("\r\n"),
  );
}

function sinks(): void {
  createServer((s) => {
    s.on("data", () => undefined);
    s.on("error", () => s.destroy());
  }).listen(BITTORRENT_PORT, LIVE_SERVERS.bulk);
  createHttpServer((req, res) => {
    req.on("data", () => undefined);
    req.on("end", () => res.end("ok\n"));
    req.on("error", () => res.destroy());
  }).listen(HTTP_PORT, LIVE_SERVERS.web, () => process.stdout.write("ready\n"));
}

function bittorrent(address: string, seconds: number): void {
  const chunk = Buffer.alloc(64 * 1024, 0x42);
  const socket = connect(BITTORRENT_PORT, address, () => {
    socket.write(bittorrentHandshake());
    const until = Date.now() + seconds * 1000;
    const pump = () => {
      while (Date.now() < until) if (!socket.write(chunk)) return;
      socket.end();
    };
    socket.on("drain", pump);
    // Let the handshake travel alone first, as a real peer waits for the other's.
    setTimeout(pump, 300);
  });
  socket.on("error", (e) => {
    process.stderr.write(`bittorrent: ${e.message}\n`);
    process.exit(1);
  });
}

function sip(address: string, mbps: number, seconds: number): void {
  const socket = createSocket("udp4");
  socket.bind(SIP_PORT, () => {
    socket.send(sipInvite(address), SIP_PORT, address);
    const datagram = Buffer.alloc(1200, 0x80);
    const tickMs = 10;
    const perTick = Math.max(1, Math.round((mbps * 1e6 * tickMs) / 1000 / 8 / datagram.length));
    const until = Date.now() + seconds * 1000;
    const timer = setInterval(() => {
      if (Date.now() >= until) {
        clearInterval(timer);
        socket.close();
        return;
      }
      for (let i = 0; i < perTick; i++) socket.send(datagram, SIP_PORT, address);
    }, tickMs);
  });
}

if (require.main === module) {
  const [mode, address, a, b] = process.argv.slice(2);
  if (mode === "sinks") sinks();
  else if (mode === "bittorrent" && address && a) bittorrent(address, Number(a));
  else if (mode === "sip" && address && a && b) sip(address, Number(a), Number(b));
  else {
    process.stderr.write("usage: class-driver sinks | bittorrent ADDRESS SEC | sip ADDRESS MBPS SEC\n");
    process.exit(2);
  }
}
