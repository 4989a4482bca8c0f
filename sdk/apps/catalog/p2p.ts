import type { Application } from "../application";

export const P2P: readonly Application[] = [
  {
    name: "bittorrent",
    id: 6,
    category: "p2p",
    ndpi: ["BitTorrent"],
    suricata: ["bittorrent-dht"],
    zeek: ["bittorrent", "bittorrenttracker"],
    aliases: ["torrent"],
  },
  { name: "gnutella", id: 59, category: "p2p", ndpi: ["Gnutella"], suricata: [], zeek: ["gnutella"] },
];
