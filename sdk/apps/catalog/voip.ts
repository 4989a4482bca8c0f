import type { Application } from "../application";

export const VOIP: readonly Application[] = [
  { name: "sip", id: 3, category: "voip", ndpi: ["SIP"], suricata: ["sip"], zeek: ["sip"] },
  {
    name: "rtp",
    id: 4,
    category: "voip",
    ndpi: ["RTP", "RTCP"],
    suricata: [],
    zeek: [],
    aliases: ["rtcp"],
  },
  {
    name: "skype",
    id: 12,
    category: "voip",
    ndpi: ["Skype_Teams", "SkypeCall"],
    suricata: [],
    zeek: [],
    domains: ["skype.com", "skypeassets.com"],
  },
  { name: "h323", id: 13, category: "voip", ndpi: ["H323"], suricata: [], zeek: [] },
  {
    name: "teamspeak",
    id: 14,
    category: "voip",
    ndpi: ["TeamSpeak"],
    suricata: [],
    zeek: [],
    domains: ["teamspeak.com"],
  },
  { name: "stun", id: 15, category: "voip", ndpi: ["STUN"], suricata: [], zeek: [] },
];
