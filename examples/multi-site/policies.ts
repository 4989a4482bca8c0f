import type { SpecInput } from "../../index";

/**
 * The policies every site of the fleet runs, as DESIGN.md writes them. Sites
 * differ only in their stack config (uplinks, bandwidths, nodes); a policy
 * change here is one preview per site stack.
 */
export interface FleetPolicies {
  readonly qos: SpecInput<"QoSPolicy">;
  readonly routing: SpecInput<"RoutingPolicy">;
  readonly fastPath: SpecInput<"FastPathPolicy">;
  readonly firewall: SpecInput<"FirewallPolicy">;
  readonly sensor: SpecInput<"DpiSensor">;
}

export const FLEET_POLICIES: FleetPolicies = {
  qos: {
    classes: [
      {
        name: "voip",
        applications: ["sip", "rtp", "skype", "teams", "zoom"],
        priority: "high",
        bandwidth: { min: "20%", max: "40%" },
      },
      {
        name: "web",
        applications: ["http", "https"],
        priority: "medium",
        bandwidth: { min: "10%", max: "60%" },
      },
      {
        name: "bulk",
        applications: ["bittorrent", "ftp", "storage"],
        priority: "low",
        bandwidth: { max: "20%" },
      },
    ],
  },
  routing: {
    rules: [
      {
        name: "streaming-via-isp2",
        applications: ["netflix", "youtube", "spotify"],
        action: { routeVia: "isp2" },
      },
      {
        name: "business-via-mpls",
        applications: ["salesforce", "office365", "webex"],
        action: { routeVia: "mpls" },
      },
      { name: "guest-via-internet", networkSegment: "guest", action: { routeVia: "default-internet" } },
    ],
  },
  fastPath: {
    offload: [{ name: "video", applications: ["netflix", "youtube", "spotify"], minInspectedPackets: 20 }],
    criticalZones: [{ name: "payments", prefixes: ["10.10.50.0/24"] }],
    sensitiveApplications: ["ssh"],
    sampling: { oneIn: 64 },
    reinspectAfter: "5m",
  },
  firewall: {
    blocks: { riskThreshold: 70, scope: "source", ttl: "15m" },
    applicationControl: [
      { name: "no-p2p-for-guests", applications: ["bittorrent"], networkSegments: ["guest"], action: "deny" },
    ],
  },
  sensor: {
    engines: ["ndpi", "suricata"],
    ruleSources: [
      {
        name: "et-open",
        url: "https://rules.emergingthreats.net/open/suricata-7.0.3/emerging.rules.tar.gz",
        sha256: "3f4c1b3d5e2a9f8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b",
      },
    ],
    expectedThroughput: "1Gbit",
  },
};
