import type { Application } from "../application";

export const VPN: readonly Application[] = [
  { name: "openvpn", id: 60, category: "vpn", ndpi: ["OpenVPN"], suricata: [], zeek: [] },
  { name: "wireguard", id: 61, category: "vpn", ndpi: ["WireGuard"], suricata: [], zeek: [] },
  {
    name: "ipsec",
    id: 62,
    category: "vpn",
    ndpi: ["IPsec"],
    suricata: ["ike", "ikev2"],
    zeek: [],
    aliases: ["ike"],
  },
  { name: "tor", id: 63, category: "vpn", ndpi: ["Tor"], suricata: [], zeek: [] },
  { name: "socks", id: 64, category: "vpn", ndpi: ["SOCKS"], suricata: [], zeek: ["socks"] },
  { name: "pptp", id: 65, category: "vpn", ndpi: ["PPTP"], suricata: [], zeek: [] },
  { name: "cisco-vpn", id: 66, category: "vpn", ndpi: ["CiscoVPN"], suricata: [], zeek: [] },
  { name: "forticlient", id: 67, category: "vpn", ndpi: ["FortiClient"], suricata: [], zeek: [] },
  {
    name: "icloud-private-relay",
    id: 68,
    category: "vpn",
    ndpi: ["iCloudPrivateRelay"],
    suricata: [],
    zeek: [],
    domains: ["mask.icloud.com", "mask-h2.icloud.com"],
  },
  {
    name: "http-proxy",
    id: 69,
    category: "vpn",
    ndpi: ["HTTP_Proxy", "HTTP_Connect"],
    suricata: [],
    zeek: [],
  },
];
