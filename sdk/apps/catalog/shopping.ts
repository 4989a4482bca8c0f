import type { Application } from "../application";

export const SHOPPING: readonly Application[] = [
  {
    name: "amazon",
    id: 120,
    category: "shopping",
    ndpi: ["Amazon"],
    suricata: [],
    zeek: [],
    domains: ["amazon.com", "media-amazon.com", "ssl-images-amazon.com"],
  },
  {
    name: "ebay",
    id: 121,
    category: "shopping",
    ndpi: ["eBay"],
    suricata: [],
    zeek: [],
    domains: ["ebay.com", "ebayimg.com"],
  },
];
