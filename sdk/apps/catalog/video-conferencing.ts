import type { Application } from "../application";

export const VIDEO_CONFERENCING: readonly Application[] = [
  {
    name: "zoom",
    id: 16,
    category: "video-conferencing",
    ndpi: ["Zoom"],
    suricata: [],
    zeek: [],
    domains: ["zoom.us", "zoom.com", "zoomgov.com"],
  },
  {
    name: "teams",
    id: 17,
    category: "video-conferencing",
    ndpi: ["Teams"],
    suricata: [],
    zeek: [],
    aliases: ["ms-teams", "microsoft-teams"],
    domains: ["teams.microsoft.com", "teams.live.com", "teams.cdn.office.net"],
  },
  {
    name: "webex",
    id: 18,
    category: "video-conferencing",
    ndpi: ["Webex"],
    suricata: [],
    zeek: [],
    domains: ["webex.com", "wbx2.com", "ciscospark.com"],
  },
  {
    name: "google-meet",
    id: 19,
    category: "video-conferencing",
    ndpi: ["GoogleHangoutDuo"],
    suricata: [],
    zeek: [],
    aliases: ["hangouts", "google-duo"],
    domains: ["meet.google.com", "hangouts.google.com", "duo.google.com"],
  },
];
