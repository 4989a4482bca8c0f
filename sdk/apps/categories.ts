/**
 * Application categories. A policy may name a category wherever it names an
 * application (`applications: ["storage"]`) to mean every member; each
 * application belongs to exactly one category so that a category expands to a
 * set without overlaps.
 */
export const CATEGORIES = [
  {
    name: "web",
    description: "plain web browsing and its transports (HTTP, TLS, QUIC) and general websites",
  },
  { name: "streaming", description: "video and music streaming services" },
  { name: "voip", description: "voice calls and their signalling and media protocols" },
  { name: "video-conferencing", description: "meeting services with video, audio and screen sharing" },
  { name: "messaging", description: "chat and instant-messaging services, including their calls" },
  { name: "social", description: "social networks and their media" },
  { name: "email", description: "mail protocols and web-mail services" },
  { name: "storage", description: "cloud file storage and sync" },
  { name: "file-transfer", description: "file-transfer and file-sharing protocols" },
  { name: "p2p", description: "peer-to-peer file sharing" },
  { name: "vpn", description: "VPNs, tunnels, proxies and anonymisers that hide what they carry" },
  { name: "gaming", description: "game platforms, stores and online games" },
  { name: "business", description: "business SaaS and developer platforms" },
  { name: "remote-access", description: "remote shells and remote desktops" },
  {
    name: "network-services",
    description: "infrastructure protocols every network runs (DNS, NTP, DHCP, ...)",
  },
  { name: "database", description: "database wire protocols" },
  { name: "industrial", description: "IoT and industrial-control protocols" },
  { name: "cloud", description: "public cloud and CDN platforms" },
  { name: "platform", description: "operating-system vendors' account, push, store and update services" },
  { name: "shopping", description: "online shops" },
] as const;

export type CategoryName = (typeof CATEGORIES)[number]["name"];

export interface Category {
  readonly name: CategoryName;
  readonly description: string;
}
