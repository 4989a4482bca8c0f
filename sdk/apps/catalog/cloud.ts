import type { Application } from "../application";

export const CLOUD: readonly Application[] = [
  {
    name: "aws",
    id: 110,
    category: "cloud",
    ndpi: ["AmazonAWS"],
    suricata: [],
    zeek: [],
    aliases: ["amazon-aws"],
    domains: ["amazonaws.com", "aws.amazon.com", "awsstatic.com", "cloudfront.net"],
  },
  {
    name: "azure",
    id: 111,
    category: "cloud",
    ndpi: ["Azure"],
    suricata: [],
    zeek: [],
    domains: ["azure.com", "azure.net", "azureedge.net", "azurewebsites.net", "windows.net"],
  },
  {
    name: "cloudflare",
    id: 112,
    category: "cloud",
    ndpi: ["Cloudflare"],
    suricata: [],
    zeek: [],
    domains: ["cloudflare.com", "cloudflare.net"],
  },
];
