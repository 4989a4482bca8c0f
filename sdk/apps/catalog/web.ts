import type { Application } from "../application";

export const WEB: readonly Application[] = [
  { name: "http", id: 1, category: "web", ndpi: ["HTTP"], suricata: ["http", "http2"], zeek: ["http"] },
  {
    name: "https",
    id: 2,
    category: "web",
    ndpi: ["TLS"],
    suricata: ["tls"],
    zeek: ["ssl"],
    aliases: ["tls", "ssl"],
  },
  { name: "quic", id: 10, category: "web", ndpi: ["QUIC"], suricata: ["quic"], zeek: ["quic"] },
  {
    name: "speedtest",
    id: 11,
    category: "web",
    ndpi: ["Ookla"],
    suricata: [],
    zeek: [],
    aliases: ["ookla"],
    domains: ["speedtest.net", "ookla.com"],
  },
];
