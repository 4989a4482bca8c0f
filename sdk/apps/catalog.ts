import type { Application } from "./application";

/**
 * The application catalog. Ids are stable forever: add new entries with new ids,
 * never renumber, because ids live in pinned eBPF maps on running routers.
 */
export const APPLICATIONS: readonly Application[] = [
  { name: "http", id: 1, category: "web", ndpi: ["HTTP"], suricata: ["http"], zeek: ["http"] },
  {
    name: "https",
    id: 2,
    category: "web",
    ndpi: ["TLS"],
    suricata: ["tls"],
    zeek: ["ssl"],
    aliases: ["tls"],
  },
  { name: "sip", id: 3, category: "voip", ndpi: ["SIP"], suricata: ["sip"], zeek: ["sip"] },
  { name: "rtp", id: 4, category: "voip", ndpi: ["RTP"], suricata: [], zeek: [] },
  {
    name: "ftp",
    id: 5,
    category: "file-transfer",
    ndpi: ["FTP_CONTROL", "FTP_DATA"],
    suricata: ["ftp", "ftp-data"],
    zeek: ["ftp", "ftp-data"],
  },
  {
    name: "bittorrent",
    id: 6,
    category: "p2p",
    ndpi: ["BitTorrent"],
    suricata: ["bittorrent-dht"],
    zeek: [],
  },
  {
    name: "youtube",
    id: 7,
    category: "streaming",
    ndpi: ["YouTube", "YouTubeUpload"],
    suricata: [],
    zeek: [],
  },
  { name: "netflix", id: 8, category: "streaming", ndpi: ["NetFlix"], suricata: [], zeek: [] },
  { name: "dropbox", id: 9, category: "storage", ndpi: ["Dropbox"], suricata: [], zeek: [] },
];
